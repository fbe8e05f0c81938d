/**
 * A client behind a load balancer in front of several gateways: a step that fails in a way that
 * says it may be sent again is sent again through the next gateway, a bounded number of times with
 * a short pause, as a load balancer with retries (or a client that knows two addresses) would.
 */

/** One answer of a gateway, its body read. */
export type Answer = { status: number; text: string; gateway: string };

/** How a step may be sent again. */
export type Repeatable =
  /** Sends the same thing again (same client_secret, send_attempt, sid): after a 503 or any connection error. */
  | 'idempotent'
  /** Stores something new each time (store-invite): only when the connection was refused, before any gateway read it. */
  | 'refused-only';

/** An answer or a connection error that was not the last word: what the step met before it was sent again. */
export type Retried = { step: string; gateway: string; why: string };

export interface BalancedClient {
  /**
   * Sends `step` through `gateways[first]`, then the others in turn when it may be sent again;
   * resolves with the last answer, or throws the last connection error once the tries are used up.
   */
  send(
    step: string,
    first: number,
    repeatable: Repeatable,
    request: (gateway: string) => Promise<Response>,
  ): Promise<Answer>;
  /** Every attempt that was followed by another, in order. */
  readonly retried: Retried[];
}

/** The code of a fetch failure (undici's `cause`): ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET… */
export function connectionErrorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : ((err as Error)?.message ?? String(err));
}

export function balancedClient(
  gateways: readonly string[],
  { tries, pauseMs }: { tries: number; pauseMs: (attempt: number) => number },
): BalancedClient {
  const retried: Retried[] = [];
  return {
    retried,
    async send(step, first, repeatable, request) {
      for (let attempt = 0; ; attempt++) {
        const gateway = gateways[(first + attempt) % gateways.length] as string;
        const last = attempt === tries - 1;
        let why: string;
        try {
          const res = await request(gateway);
          const answer = { status: res.status, text: await res.text(), gateway };
          if (last || res.status !== 503 || repeatable !== 'idempotent') return answer;
          why = `503 ${answer.text.slice(0, 80)}`;
        } catch (err) {
          const code = connectionErrorCode(err);
          if (last || (repeatable === 'refused-only' && code !== 'ECONNREFUSED')) throw err;
          why = code;
        }
        retried.push({ step, gateway, why });
        // A refused connection is a gateway that is down: the next one is tried at once.
        if (why !== 'ECONNREFUSED') await new Promise((resolve) => setTimeout(resolve, pauseMs(attempt)));
      }
    },
  };
}

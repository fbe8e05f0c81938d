import { setTimeout as sleep } from 'node:timers/promises';
import { type LeanConnection, openLeanConnection } from '../bench/lean-http.js';

/** One v1 requestToken of a load, as its client saw it. */
export type RequestRecord = {
  email: string;
  clientSecret: string;
  startedAt: number;
  /** 0 until it is answered; then when the answer (or the failure) came. */
  answeredAt: number;
  /** The HTTP status, or 'failed' for a connection that broke or an answer that never came. */
  status: number | 'failed';
  /** The sid of a 200 answer. */
  sid?: string;
};

export interface RequestTokenLoad {
  readonly records: readonly RequestRecord[];
  /** Requests answered so far (any status, failures included). */
  answered(): number;
  /** Settles when every request was made and answered, or the load was stopped. */
  done: Promise<void>;
  /** Makes no more requests (those in flight finish). */
  stop(): void;
}

const PATH = '/_matrix/identity/api/v1/validate/email/requestToken';
const HEADERS = { 'content-type': 'application/json' };
// Longer than any answer Tessera gives (the delivery wait plus a gRPC deadline): no answer by
// then means the answer is lost; the request counts as failed and its connection is dropped.
const ANSWER_TIMEOUT_MS = 60_000;

/**
 * `total` v1 requestTokens (no account needed), `concurrency` in flight, each for a fresh address,
 * over lean keep-alive connections. A connection that breaks (a gateway killed) fails its request
 * and is opened again, as long as it takes until `deadline`.
 */
export function startRequestTokenLoad(
  baseUrl: string,
  { total, concurrency, tag, deadline }: { total: number; concurrency: number; tag: string; deadline: number },
): RequestTokenLoad {
  const records: RequestRecord[] = [];
  let answered = 0;
  let next = 0;
  let stopped = false;
  const run = Date.now().toString(36);

  const connect = async (): Promise<LeanConnection> => {
    for (;;) {
      try {
        return await openLeanConnection(baseUrl);
      } catch (err) {
        if (stopped || Date.now() > deadline)
          throw new Error(`no connection to ${baseUrl} before the deadline`, { cause: err });
        await sleep(100);
      }
    }
  };
  const worker = async () => {
    let connection: LeanConnection | null = null;
    while (next < total && !stopped) {
      connection ??= await connect();
      const index = next++;
      const record: RequestRecord = {
        email: `fault-${tag}-${run}-${index}@example.org`,
        clientSecret: `cs-${tag}-${run}-${index}`,
        startedAt: Date.now(),
        answeredAt: 0,
        status: 'failed',
      };
      records.push(record);
      const body = JSON.stringify({ client_secret: record.clientSecret, email: record.email, send_attempt: 1 });
      let timer: NodeJS.Timeout | undefined;
      try {
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), ANSWER_TIMEOUT_MS);
        });
        const res = await Promise.race([connection.request('POST', PATH, HEADERS, body), timedOut]);
        record.status = res.status;
        if (res.status === 200) record.sid = (JSON.parse(res.text) as { sid: string }).sid;
      } catch {
        connection.close();
        connection = null;
      } finally {
        clearTimeout(timer);
      }
      record.answeredAt = Date.now();
      answered++;
    }
    connection?.close();
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {});
  return {
    records,
    answered: () => answered,
    done,
    stop: () => {
      stopped = true;
    },
  };
}

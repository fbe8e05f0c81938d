// A backend port faked in memory for the route tests: every call recorded, each method's answer
// its default unless a test scripts another.

/** Each method's request and answer types. */
export type Handlers<Calls, Answers> = {
  [M in keyof Calls & keyof Answers]: (request: Calls[M]) => Promise<Answers[M]>;
};

/** A port answering with `defaults`; `script` replaces one method's answer until reset(). */
export function recordingPort<Port, Calls, Answers>(defaults: Handlers<Calls, Answers>) {
  type Method = keyof Calls & keyof Answers;
  const calls: { method: Method; request: unknown }[] = [];
  const script: Partial<Handlers<Calls, Answers>> = {};
  const port: Record<string, unknown> = { close: () => {} };
  for (const method of Object.keys(defaults) as Method[]) {
    port[method as string] = (request: never) => {
      calls.push({ method, request });
      const answer = (script[method] ?? defaults[method]) as (request: never) => Promise<unknown>;
      return answer(request);
    };
  }
  return {
    port: port as unknown as Port,
    script,
    /** The answers it gives when not scripted. */
    usual: defaults,
    /** The requests of one method, oldest first. */
    requestsOf: <M extends Method>(method: M) =>
      calls.filter((call) => call.method === method).map((call) => call.request as Calls[M]),
    reset() {
      calls.length = 0;
      for (const method of Object.keys(script) as Method[]) delete script[method];
    },
  };
}

import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * Where trace context travels: HTTP headers, gRPC metadata, NATS message headers. Each is a map
 * of string keys; these two functions are all a carrier needs.
 */
export type HeaderAccess = {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
};

// Only `traceparent` (ids and flags, a fixed format) crosses a boundary. `tracestate` and
// `baggage` are free text a client chooses: carried on, they would reach every service's gRPC
// metadata and the headers of the lasting stream, where an address could stand in plaintext.
const CARRIED = 'traceparent';

const setter = {
  set: (carrier: HeaderAccess, key: string, value: string) => {
    if (key === CARRIED) carrier.set(key, value);
  },
};
const getter = {
  get: (carrier: Pick<HeaderAccess, 'get'>, key: string) => (key === CARRIED ? carrier.get(key) : undefined),
  keys: () => [CARRIED],
};

/** Writes the active trace context (`traceparent` only) into the carrier; nothing when tracing is off. */
export function injectTraceContext(carrier: HeaderAccess, from: Context = context.active()): void {
  propagation.inject(from, carrier, setter);
}

/**
 * The trace context a caller or producer sent; the root context (a new trace) when it sent none.
 * Extracted onto the root context: what the current work happens to be is not its parent.
 */
export function extractTraceContext(carrier: Pick<HeaderAccess, 'get'>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, getter);
}

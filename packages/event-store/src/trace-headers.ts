import { type Context, extractTraceContext, type HeaderAccess, injectTraceContext } from '@tessera/tracing';
import type { MsgHdrs } from 'nats';

/** NATS message headers as a header map for trace context (`traceparent` beside our own headers). */
function headerAccess(h: MsgHdrs): HeaderAccess {
  return { get: (key) => h.get(key) || undefined, set: (key, value) => h.set(key, value) };
}

/** Puts the active trace context into a message's headers: its consumers' spans join the trace. */
export function addTraceContext(h: MsgHdrs): MsgHdrs {
  injectTraceContext(headerAccess(h));
  return h;
}

/** The trace context a stored message carries (a new trace when it carries none: written untraced). */
export function traceContextOf(h: MsgHdrs | undefined): Context {
  return h === undefined ? extractTraceContext({ get: () => undefined }) : extractTraceContext(headerAccess(h));
}

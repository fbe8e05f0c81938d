import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * A correlation id ties together one request's log lines in every service and the events it
 * caused. The gateway makes one per HTTP request; it travels as gRPC metadata under this key, is
 * stored in each event's envelope, and a consumer handling that event works under it again.
 */
export const CORRELATION_METADATA_KEY = 'tessera-correlation-id';

// Stored in a NATS header and written in logs: short and printable, nothing that could break a line.
const CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;

export function isCorrelationId(value: unknown): value is string {
  return typeof value === 'string' && CORRELATION_ID.test(value);
}

export function newCorrelationId(): string {
  return randomUUID();
}

// One per process. Work started inside `withCorrelation` (awaits, timers, callbacks) sees the id
// without every function on the way passing it along.
const current = new AsyncLocalStorage<string>();

/** Runs `work` (and everything it starts) under the given correlation id. */
export function withCorrelation<T>(correlationId: string, work: () => T): T {
  if (!isCorrelationId(correlationId)) throw new TypeError('a correlation id is 1 to 128 printable ASCII characters');
  return current.run(correlationId, work);
}

/** The id of the request or event being worked on, if any. */
export function currentCorrelationId(): string | undefined {
  return current.getStore();
}

/** The id to record a decision under: the current one, else a fresh one (work nobody asked for, like a start-up step). */
export function correlationIdForNow(): string {
  return current.getStore() ?? newCorrelationId();
}

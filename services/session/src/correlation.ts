import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/** The metadata key a caller (the gateway) may set to tie a request's events and logs together. */
export const CORRELATION_KEY = 'tessera-correlation-id';
// What the event store accepts in its header: short printable ASCII.
const CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;

/** The caller's correlation id when it sent a usable one, else a fresh one. */
export function correlationIdOf(metadata: Metadata | undefined): string {
  const value = metadata?.get(CORRELATION_KEY)[0];
  return typeof value === 'string' && CORRELATION_ID.test(value) ? value : randomUUID();
}

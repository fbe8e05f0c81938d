// Event builders shared by this package's tests; not exported from the package.
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { newEvent } from './events.js';
export const AT = new Date('2025-01-15T10:00:00Z');

export const keyCreated = (keyId = 'ed25519:0'): Event =>
  newEvent({ $case: 'keyCreated', value: { keyId, algorithm: 'ed25519', publicKey: 'cHVibGlj' } }, AT);

export const keyRevoked = (reason: string, keyId = 'ed25519:0'): Event =>
  newEvent({ $case: 'keyRevoked', value: { keyId, reason } }, AT);

export const reasonsOf = (events: Event[]): string[] =>
  events.map((event) => (event.payload?.$case === 'keyRevoked' ? event.payload.value.reason : event.type));

let counter = 0;
/** A subject id no other test uses. */
export const uniqueId = (prefix = 'id') => `${prefix}-${process.pid}-${++counter}`;

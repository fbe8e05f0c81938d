// Event builders shared by this package's tests; not exported from the package.
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { type StoredDecider, storedDecider } from '../src/decider.js';
import { eventCodec } from '../src/event-codec.js';
import { newEvent } from '../src/events.js';
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

/**
 * A decider for this package's tests of handleCommand: notes that are appended after the notes
 * already there, stored as KeyRevoked events whose reason is the note.
 */
export type Noted = { type: 'Noted'; data: { note: string; at: Date } };
export type Note = { note: string };
export type Notes = { notes: string[] };
export const notes: StoredDecider<Note, Noted, Notes> = storedDecider<Note, Noted, Notes>(
  {
    decide: ({ note }) => (note === '' ? [] : [{ type: 'Noted', data: { note, at: AT } }]),
    evolve: (state, event) => ({ notes: [...state.notes, event.data.note] }),
    initial: () => ({ notes: [] }),
  },
  eventCodec<Noted>({
    toPayload: ({ data }) => ({ $case: 'keyRevoked', value: { keyId: 'ed25519:0', reason: data.note } }),
    fromPayload: (payload, at) =>
      payload.$case === 'keyRevoked' ? { type: 'Noted', data: { note: payload.value.reason, at } } : null,
  }),
);

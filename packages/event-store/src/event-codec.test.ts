import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { AT, keyCreated, notes } from '../test-support/fixtures.js';

describe('an event codec', () => {
  it('stores a domain event with its time and reads it back', () => {
    const noted = { type: 'Noted' as const, data: { note: 'n', at: AT } };
    const stored = notes.codec.toStoredEvent(noted);
    assert.equal(stored.type, 'KeyRevoked');
    assert.deepEqual(stored.occurredAt, AT);
    assert.deepEqual(notes.codec.fromStoredEvents([stored]), [noted]);
  });

  it("skips other aggregates' events and events without a payload", () => {
    const noPayload: Event = { ...keyCreated(), payload: undefined };
    assert.deepEqual(notes.codec.fromStoredEvents([keyCreated(), noPayload]), []);
  });

  it('reads an event stored without a time at the epoch', () => {
    const stored = {
      ...notes.codec.toStoredEvent({ type: 'Noted', data: { note: 'n', at: AT } }),
      occurredAt: undefined,
    };
    assert.deepEqual(notes.codec.fromStoredEvents([stored]), [{ type: 'Noted', data: { note: 'n', at: new Date(0) } }]);
  });
});

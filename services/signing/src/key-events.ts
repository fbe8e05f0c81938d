import { newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { KeyEvent } from './domain/key.js';

// The key aggregate's events on the wire (tessera.events.v1) and back.

export function toStoredEvent(event: KeyEvent): Event {
  switch (event.type) {
    case 'KeyCreated': {
      const { keyId, algorithm, publicKey, at } = event.data;
      return newEvent({ $case: 'keyCreated', value: { keyId, algorithm, publicKey } }, at);
    }
    case 'KeyRevoked': {
      const { keyId, reason, at } = event.data;
      return newEvent({ $case: 'keyRevoked', value: { keyId, reason } }, at);
    }
  }
}

/** The key events of a stored history; events of other kinds are not the key aggregate's and are skipped. */
export function fromStoredEvents(events: readonly Event[]): KeyEvent[] {
  return events.flatMap((event): KeyEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    switch (event.payload?.$case) {
      case 'keyCreated':
        return [{ type: 'KeyCreated', data: { ...event.payload.value, at } }];
      case 'keyRevoked':
        return [{ type: 'KeyRevoked', data: { ...event.payload.value, at } }];
      default:
        return [];
    }
  });
}

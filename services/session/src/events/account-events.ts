import { newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { AccountEvent } from '../domain/account.js';

// The account aggregate's events on the wire (tessera.events.v1) and back.

export function toStoredEvent(event: AccountEvent): Event {
  switch (event.type) {
    case 'AccountRegistered': {
      const { userId, matrixServerName, at } = event.data;
      return newEvent({ $case: 'accountRegistered', value: { userId, matrixServerName } }, at);
    }
    case 'AccountLoggedOut':
      return newEvent({ $case: 'accountLoggedOut', value: {} }, event.data.at);
  }
}

export function fromStoredEvents(events: readonly Event[]): AccountEvent[] {
  return events.flatMap((event): AccountEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    switch (event.payload?.$case) {
      case 'accountRegistered':
        return [{ type: 'AccountRegistered', data: { ...event.payload.value, at } }];
      case 'accountLoggedOut':
        return [{ type: 'AccountLoggedOut', data: { at } }];
      default:
        return [];
    }
  });
}

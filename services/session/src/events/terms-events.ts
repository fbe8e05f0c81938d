import { newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { TermsEvent } from '../domain/terms.js';

// The terms aggregate's events on the wire (tessera.events.v1) and back.

export function toStoredEvent(event: TermsEvent): Event {
  switch (event.type) {
    case 'TermsAccepted': {
      const { userId, urls, at } = event.data;
      return newEvent({ $case: 'termsAccepted', value: { userId, urls } }, at);
    }
  }
}

export function fromStoredEvents(events: readonly Event[]): TermsEvent[] {
  return events.flatMap((event): TermsEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    return event.payload?.$case === 'termsAccepted'
      ? [{ type: 'TermsAccepted', data: { userId: event.payload.value.userId, urls: event.payload.value.urls, at } }]
      : [];
  });
}

import { newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { TermsEvent } from '../domain/terms.js';

// The terms aggregate's events on the wire (tessera.events.v1) and back. The user is named by
// `user_key` only; the plaintext `user_id` of older events is not read: the subject is the user.

export function toStoredEvent(event: TermsEvent): Event {
  switch (event.type) {
    case 'TermsAccepted': {
      const { userKey, urls, at } = event.data;
      // user_id is deprecated: '' is proto3's default, which is not encoded at all.
      return newEvent({ $case: 'termsAccepted', value: { userId: '', userKey, urls } }, at);
    }
  }
}

export function fromStoredEvents(events: readonly Event[]): TermsEvent[] {
  return events.flatMap((event): TermsEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    if (event.payload?.$case !== 'termsAccepted') return [];
    const { userKey, urls } = event.payload.value;
    return [{ type: 'TermsAccepted', data: { userKey, urls, at } }];
  });
}

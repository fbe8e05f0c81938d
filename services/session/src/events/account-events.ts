import { newEvent } from '@tessera/event-store';
import type { AccountRegistered } from '@tessera/proto/tessera/events/v1/account';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { AccountEvent, AccountHolder } from '../domain/account.js';

// The account aggregate's events on the wire (tessera.events.v1) and back.

/** The field name the user ID is sealed under, in the account's aggregate (`account.<token hash>`). */
export const USER_ID_FIELD = 'user_id';

export function toStoredEvent(event: AccountEvent): Event {
  switch (event.type) {
    case 'AccountRegistered': {
      const { holder, matrixServerName, at } = event.data;
      if (!('sealedUserId' in holder)) throw new TypeError('a user ID is never written in plaintext');
      const { sealedUserId, userKey } = holder;
      // user_id is deprecated: '' is proto3's default, which is not encoded at all.
      const value = { userId: '', sealedUserId, userKey, matrixServerName };
      return newEvent({ $case: 'accountRegistered', value }, at);
    }
    case 'AccountLoggedOut':
      return newEvent({ $case: 'accountLoggedOut', value: {} }, event.data.at);
  }
}

/** The account events of a stored history; an AccountRegistered naming no user at all is skipped. */
export function fromStoredEvents(events: readonly Event[]): AccountEvent[] {
  return events.flatMap((event): AccountEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    switch (event.payload?.$case) {
      case 'accountRegistered': {
        const holder = holderOf(event.payload.value);
        if (holder === null) return [];
        return [
          { type: 'AccountRegistered', data: { holder, matrixServerName: event.payload.value.matrixServerName, at } },
        ];
      }
      case 'accountLoggedOut':
        return [{ type: 'AccountLoggedOut', data: { at } }];
      default:
        return [];
    }
  });
}

function holderOf({ sealedUserId, userKey, userId }: AccountRegistered): AccountHolder | null {
  if (sealedUserId !== undefined) return { sealedUserId, userKey };
  return userId === '' ? null : { plaintextUserId: userId }; // written before user IDs were sealed
}

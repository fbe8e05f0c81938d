import { eventCodec, storedDecider } from '@tessera/event-store';
import type { AccountRegistered } from '@tessera/proto/tessera/events/v1/account';
import { type AccountEvent, type AccountHolder, accountDecider } from '../domain/account.js';

// The account aggregate's events on the wire (tessera.events.v1) and back.

/** The field name the user ID is sealed under, in the account's aggregate (`account.<token hash>`). */
export const USER_ID_FIELD = 'user_id';

/** An AccountRegistered naming no user at all is skipped. */
export const accountCodec = eventCodec<AccountEvent>({
  toPayload(event) {
    switch (event.type) {
      case 'AccountRegistered': {
        const { holder, matrixServerName } = event.data;
        if (!('sealedUserId' in holder)) throw new TypeError('a user ID is never written in plaintext');
        const { sealedUserId, userKey } = holder;
        // user_id is deprecated: '' is proto3's default, which is not encoded at all.
        return { $case: 'accountRegistered', value: { userId: '', sealedUserId, userKey, matrixServerName } };
      }
      case 'AccountLoggedOut':
        return { $case: 'accountLoggedOut', value: {} };
    }
  },
  fromPayload(payload, at) {
    switch (payload.$case) {
      case 'accountRegistered': {
        const holder = holderOf(payload.value);
        if (holder === null) return null;
        return { type: 'AccountRegistered', data: { holder, matrixServerName: payload.value.matrixServerName, at } };
      }
      case 'accountLoggedOut':
        return { type: 'AccountLoggedOut', data: { at } };
      default:
        return null;
    }
  },
});

function holderOf({ sealedUserId, userKey, userId }: AccountRegistered): AccountHolder | null {
  if (sealedUserId !== undefined) return { sealedUserId, userKey };
  return userId === '' ? null : { plaintextUserId: userId }; // written before user IDs were sealed
}

/** `tessera.account.<token hash>`, loaded and changed by handleCommand. */
export const storedAccounts = storedDecider(accountDecider, accountCodec);

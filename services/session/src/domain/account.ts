// A v2 account (`tessera.account.<base64url sha256(access token)>`): the access token a user got
// by proving an OpenID token of their homeserver. The aggregate id is the token's hash, so the
// token itself is never stored; logging out ends the token for good.
import { TesseraError } from '@tessera/errors';
import type { Decider } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';

/** The user ID as it is written now: sealed with the account's data key, beside its keyed pseudonym. */
export type SealedHolder = { sealedUserId: Sealed; userKey: string };
/** Who holds a token: sealed, or in plaintext in events written before user IDs were sealed (read, never written). */
export type AccountHolder = SealedHolder | { plaintextUserId: string };

export type AccountEvent =
  | { type: 'AccountRegistered'; data: { holder: AccountHolder; matrixServerName: string; at: Date } }
  | { type: 'AccountLoggedOut'; data: { at: Date } };

export type AccountCommand =
  | { type: 'RegisterAccount'; holder: SealedHolder; matrixServerName: string; now: Date }
  | { type: 'Logout'; now: Date };

export type Account =
  | { status: 'none' }
  | { status: 'active' | 'loggedOut'; holder: AccountHolder; matrixServerName: string };

export const initial = (): Account => ({ status: 'none' });

/** A new token hashed to an existing account: 64 random characters never repeat, so this is a bug. */
export class TokenAlreadyRegistered extends Error {
  override readonly name = 'TokenAlreadyRegistered';
}

export function evolve(state: Account, event: AccountEvent): Account {
  switch (event.type) {
    case 'AccountRegistered':
      return { status: 'active', holder: event.data.holder, matrixServerName: event.data.matrixServerName };
    case 'AccountLoggedOut':
      return state.status === 'none' ? state : { ...state, status: 'loggedOut' };
  }
}

export function decide(command: AccountCommand, state: Account): AccountEvent[] {
  const at = command.now;
  switch (command.type) {
    case 'RegisterAccount': {
      if (state.status !== 'none') throw new TokenAlreadyRegistered('this access token is registered already');
      const { holder, matrixServerName } = command;
      return [{ type: 'AccountRegistered', data: { holder, matrixServerName, at } }];
    }
    case 'Logout':
      // Spec: logout of a token that is not (or no longer) valid is 401 M_UNKNOWN_TOKEN.
      if (state.status !== 'active') throw new TesseraError('M_UNKNOWN_TOKEN', 'Unknown or logged-out access token');
      return [{ type: 'AccountLoggedOut', data: { at } }];
  }
}

export const accountDecider: Decider<AccountCommand, AccountEvent, Account> = { decide, evolve, initial };

/** Who the token belongs to; null for a token never registered, or logged out. */
export function accountHolder(state: Account): AccountHolder | null {
  return state.status === 'active' ? state.holder : null;
}

/** 401 M_UNAUTHORIZED: what a token without a holder gets. */
export const unrecognisedToken = () => new TesseraError('M_UNAUTHORIZED', 'Unrecognised access token');

// A v2 account (`tessera.account.<base64url sha256(access token)>`): the access token a user got
// by proving an OpenID token of their homeserver. The aggregate id is the token's hash, so the
// token itself is never stored; logging out ends the token for good.
import { TesseraError } from '@tessera/errors';

export type AccountEvent =
  | { type: 'AccountRegistered'; data: { userId: string; matrixServerName: string; at: Date } }
  | { type: 'AccountLoggedOut'; data: { at: Date } };

export type AccountCommand =
  | { type: 'RegisterAccount'; userId: string; matrixServerName: string; now: Date }
  | { type: 'Logout'; now: Date };

export type Account = { status: 'none' } | { status: 'active' | 'loggedOut'; userId: string; matrixServerName: string };

export const initialState = (): Account => ({ status: 'none' });

/** A new token hashed to an existing account: 64 random characters never repeat, so this is a bug. */
export class TokenAlreadyRegistered extends Error {
  override readonly name = 'TokenAlreadyRegistered';
}

export function evolve(state: Account, event: AccountEvent): Account {
  switch (event.type) {
    case 'AccountRegistered':
      return { status: 'active', userId: event.data.userId, matrixServerName: event.data.matrixServerName };
    case 'AccountLoggedOut':
      return state.status === 'none' ? state : { ...state, status: 'loggedOut' };
  }
}

export function decide(command: AccountCommand, state: Account): AccountEvent[] {
  const at = command.now;
  switch (command.type) {
    case 'RegisterAccount': {
      if (state.status !== 'none') throw new TokenAlreadyRegistered('this access token is registered already');
      const { userId, matrixServerName } = command;
      return [{ type: 'AccountRegistered', data: { userId, matrixServerName, at } }];
    }
    case 'Logout':
      // Spec: logout of a token that is not (or no longer) valid is 401 M_UNKNOWN_TOKEN.
      if (state.status !== 'active') throw new TesseraError('M_UNKNOWN_TOKEN', 'Unknown or logged-out access token');
      return [{ type: 'AccountLoggedOut', data: { at } }];
  }
}

/** Who the token belongs to; 401 M_UNAUTHORIZED for a token never registered or logged out. */
export function accountHolder(state: Account): string {
  if (state.status !== 'active') throw new TesseraError('M_UNAUTHORIZED', 'Unrecognised access token');
  return state.userId;
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import {
  type AccountCommand,
  type AccountEvent,
  accountHolder,
  decide,
  evolve,
  initialState,
  TokenAlreadyRegistered,
} from './account.js';

const stateOf = (history: AccountEvent[]) => history.reduce(evolve, initialState());
const isErrcode = (errcode: string) => (err: unknown) => err instanceof TesseraError && err.errcode === errcode;

function given(history: AccountEvent[]) {
  const state = stateOf(history);
  return {
    when: (command: AccountCommand) => ({
      // biome-ignore lint/suspicious/noThenProperty: given/when/then is the decider tests' vocabulary (STYLE.md §2); never awaited
      then: (expected: AccountEvent[]) => assert.deepEqual(decide(command, state), expected),
      thenThrows: (check: (err: unknown) => boolean) => assert.throws(() => decide(command, state), check),
    }),
  };
}

const T0 = new Date('2025-01-15T10:00:00Z');
const HOLDER = {
  sealedUserId: { keyId: 'k1', nonce: Buffer.alloc(12), ciphertext: Buffer.from('sealed') },
  userKey: 'uk',
};
const registered = (at = T0): AccountEvent => ({
  type: 'AccountRegistered',
  data: { holder: HOLDER, matrixServerName: 'example.org', at },
});
const loggedOut = (at = T0): AccountEvent => ({ type: 'AccountLoggedOut', data: { at } });
const register: AccountCommand = { type: 'RegisterAccount', holder: HOLDER, matrixServerName: 'example.org', now: T0 };
const logout = (now = T0): AccountCommand => ({ type: 'Logout', now });

describe('the account aggregate', () => {
  it('registers a new token for the user the homeserver named', () => given([]).when(register).then([registered()]));

  it('never registers one token twice', () =>
    given([registered()])
      .when(register)
      .thenThrows((err) => err instanceof TokenAlreadyRegistered));

  it('logs a registered token out', () => given([registered()]).when(logout()).then([loggedOut()]));

  it('answers M_UNKNOWN_TOKEN to the logout of an unknown or logged-out token', () => {
    given([]).when(logout()).thenThrows(isErrcode('M_UNKNOWN_TOKEN'));
    given([registered(), loggedOut()]).when(logout()).thenThrows(isErrcode('M_UNKNOWN_TOKEN'));
  });

  it('names the holder of a registered token', () => assert.deepEqual(accountHolder(stateOf([registered()])), HOLDER));

  it('has no holder for an unknown or logged-out token', () => {
    assert.equal(accountHolder(stateOf([])), null);
    assert.equal(accountHolder(stateOf([registered(), loggedOut()])), null);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import {
  type AccountCommand,
  type AccountEvent,
  accountDecider,
  accountHolder,
  TokenAlreadyRegistered,
} from './account.js';

const given = deciderSpec(accountDecider);

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

  it('never registers one token twice', () => given([registered()]).when(register).thenThrows(TokenAlreadyRegistered));

  it('logs a registered token out', () => given([registered()]).when(logout()).then([loggedOut()]));

  it('answers M_UNKNOWN_TOKEN to the logout of an unknown or logged-out token', () => {
    given([]).when(logout()).thenThrows({ errcode: 'M_UNKNOWN_TOKEN' });
    given([registered(), loggedOut()]).when(logout()).thenThrows({ errcode: 'M_UNKNOWN_TOKEN' });
  });

  it('names the holder of a registered token', () =>
    assert.deepEqual(accountHolder(given([registered()]).state), HOLDER));

  it('has no holder for an unknown or logged-out token', () => {
    assert.equal(accountHolder(given([]).state), null);
    assert.equal(accountHolder(given([registered(), loggedOut()]).state), null);
  });
});

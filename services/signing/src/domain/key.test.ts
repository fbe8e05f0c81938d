import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, evolve, initialState, isValidAfter, type KeyCommand, type KeyEvent, KeyMismatch } from './key.js';

// given(history).when(command).then(events): history folded with evolve, then decide.
function given(history: KeyEvent[]) {
  const state = history.reduce(evolve, initialState());
  return {
    when: (command: KeyCommand) => ({
      // biome-ignore lint/suspicious/noThenProperty: given/when/then is the decider tests' vocabulary (STYLE.md §2); never awaited
      then: (expected: KeyEvent[]) => assert.deepEqual(decide(command, state), expected),
      thenThrows: (errorClass: new (...args: never[]) => Error) =>
        assert.throws(() => decide(command, state), errorClass),
      thenValid: (valid: boolean) =>
        assert.equal(isValidAfter(decide(command, state).reduce(evolve, state), command.publicKey), valid),
    }),
  };
}

const KEY_ID = 'ed25519:0';
const PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OTHER_KEY = 'Pkoq9FLgkhHyIwvNGvNgqQvNdQqyVpAfVGOF4kMJVqc';
const day = (n: number) => new Date(Date.UTC(2025, 0, n));

const publish = (publicKey = PUBLIC_KEY, now = day(2)): KeyCommand => ({
  type: 'PublishKey',
  keyId: KEY_ID,
  algorithm: 'ed25519',
  publicKey,
  now,
});
const created = (publicKey = PUBLIC_KEY, at = day(1)): KeyEvent => ({
  type: 'KeyCreated',
  data: { keyId: KEY_ID, algorithm: 'ed25519', publicKey, at },
});
const revoked = (at = day(1)): KeyEvent => ({ type: 'KeyRevoked', data: { keyId: KEY_ID, reason: 'leaked', at } });

describe('the key aggregate', () => {
  it('announces a key the stream has never seen', () =>
    given([])
      .when(publish(PUBLIC_KEY, day(2)))
      .then([created(PUBLIC_KEY, day(2))]));

  it('announces nothing when the same key was published by an earlier start', () =>
    given([created()]).when(publish()).then([]));

  it('refuses a different key under an id the stream already knows', () =>
    given([created(PUBLIC_KEY)])
      .when(publish(OTHER_KEY))
      .thenThrows(KeyMismatch));

  it('names the key id, and no key material, when it refuses', () => {
    const state = [created(PUBLIC_KEY)].reduce(evolve, initialState());
    assert.throws(
      () => decide(publish(OTHER_KEY), state),
      (err: Error) => err.message.includes(KEY_ID) && !err.message.includes(OTHER_KEY),
    );
  });

  it('keeps a revoked key revoked when the store still holds it', () => {
    given([created(), revoked()]).when(publish()).then([]);
    given([created(), revoked()]).when(publish()).thenValid(false);
  });

  it('accepts a new key under an id whose old key was revoked', () =>
    given([created(PUBLIC_KEY), revoked()])
      .when(publish(OTHER_KEY, day(3)))
      .then([created(OTHER_KEY, day(3))]));

  it('treats a published, unrevoked key as valid', () => {
    given([]).when(publish()).thenValid(true);
    given([created()]).when(publish()).thenValid(true);
  });

  it('ignores a revocation of a key it never saw', () =>
    given([revoked()])
      .when(publish(PUBLIC_KEY, day(2)))
      .then([created(PUBLIC_KEY, day(2))]));
});

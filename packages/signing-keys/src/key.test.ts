import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { isValidAfter, type KeyCommand, type KeyEvent, KeyMismatch, keyDecider, UnknownKey } from './key.js';

const given = deciderSpec(keyDecider);
/** Whether the published key is valid once the command's events are applied. */
type PublishKey = Extract<KeyCommand, { type: 'PublishKey' }>;
const validAfter = (history: KeyEvent[], command: PublishKey) =>
  isValidAfter(given(history).when(command).stateAfter(), command.publicKey);

const KEY_ID = 'ed25519:0';
const PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OTHER_KEY = 'Pkoq9FLgkhHyIwvNGvNgqQvNdQqyVpAfVGOF4kMJVqc';
const day = (n: number) => new Date(Date.UTC(2025, 0, n));

const revoke = (reason = 'leaked', now = day(2)): KeyCommand => ({ type: 'RevokeKey', keyId: KEY_ID, reason, now });
const publish = (publicKey = PUBLIC_KEY, now = day(2)): PublishKey => ({
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

  it('names the key id, and no key material, when it refuses', () =>
    given([created(PUBLIC_KEY)])
      .when(publish(OTHER_KEY))
      .thenThrows((err: Error) => err.message.includes(KEY_ID) && !err.message.includes(OTHER_KEY)));

  it('keeps a revoked key revoked when the store still holds it', () => {
    given([created(), revoked()]).when(publish()).then([]);
    assert.equal(validAfter([created(), revoked()], publish()), false);
  });

  it('accepts a new key under an id whose old key was revoked', () =>
    given([created(PUBLIC_KEY), revoked()])
      .when(publish(OTHER_KEY, day(3)))
      .then([created(OTHER_KEY, day(3))]));

  it('treats a published, unrevoked key as valid', () => {
    assert.equal(validAfter([], publish()), true);
    assert.equal(validAfter([created()], publish()), true);
  });

  it('ignores a revocation of a key it never saw', () =>
    given([revoked()])
      .when(publish(PUBLIC_KEY, day(2)))
      .then([created(PUBLIC_KEY, day(2))]));

  it('revokes a published key, with the reason given', () =>
    given([created()])
      .when(revoke('seed leaked', day(2)))
      .then([{ type: 'KeyRevoked', data: { keyId: KEY_ID, reason: 'seed leaked', at: day(2) } }]));

  it('appends nothing when the key is revoked already', () => given([created(), revoked()]).when(revoke()).then([]));

  it('refuses to revoke a key id the stream has never seen', () => given([]).when(revoke()).thenThrows(UnknownKey));

  it('revokes the new key put under an id whose old key was revoked', () =>
    given([created(PUBLIC_KEY), revoked(), created(OTHER_KEY, day(3))])
      .when(revoke('again', day(4)))
      .then([{ type: 'KeyRevoked', data: { keyId: KEY_ID, reason: 'again', at: day(4) } }]));
});

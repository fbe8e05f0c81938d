import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PublicKey } from '@tessera/proto/tessera/signing/v1/signing';
import { KeyBook } from '@tessera/signing-keys';
import { publicKeysOf } from './public-keys.js';

const IMPORTED = 'KoqYm/lcWfB/DLKy+NQHilhAOrBmbm62oWOrqKdR4PE';
const LATER = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const at = new Date(0);
const created = (keyId: string, publicKey: string) => [
  { type: 'KeyCreated' as const, data: { keyId, algorithm: 'ed25519', publicKey, at } },
];
const signingKnows = (keys: PublicKey[] = []) => ({
  lookup: async (keyId: string) => keys.find((k) => k.keyId === keyId),
});

describe('public keys by id', () => {
  it('answers ed25519:0 with the first key when no key has that id, as Sydent serves its only key there', async () => {
    const book = new KeyBook();
    book.apply('ed25519:a_AbCd', 1, created('ed25519:a_AbCd', IMPORTED));
    book.apply('ed25519:b', 5, created('ed25519:b', LATER));
    const keys = publicKeysOf(book, signingKnows());
    assert.equal(await keys.publicKeyOf('ed25519:0'), IMPORTED);
    assert.equal(await keys.publicKeyOf('ed25519:a_AbCd'), IMPORTED);
    assert.equal(await keys.publicKeyOf('ed25519:1'), null, 'no other id is an alias');
  });

  it('answers a real ed25519:0 as it is, and nothing for it once revoked', async () => {
    const book = new KeyBook();
    book.apply('ed25519:0', 1, created('ed25519:0', LATER));
    book.apply('ed25519:a', 2, created('ed25519:a', IMPORTED));
    const keys = publicKeysOf(book, signingKnows());
    assert.equal(await keys.publicKeyOf('ed25519:0'), LATER);
    book.apply('ed25519:0', 9, [{ type: 'KeyRevoked', data: { keyId: 'ed25519:0', reason: 'leaked', at } }]);
    assert.equal(await keys.publicKeyOf('ed25519:0'), null);
  });

  it('does not alias a first key that was revoked', async () => {
    const book = new KeyBook();
    book.apply('ed25519:x', 1, created('ed25519:x', IMPORTED));
    book.apply('ed25519:x', 4, [{ type: 'KeyRevoked', data: { keyId: 'ed25519:x', reason: 'leaked', at } }]);
    assert.equal(await publicKeysOf(book, signingKnows()).publicKeyOf('ed25519:0'), null);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyEvent } from './key.js';
import { KeyBook } from './key-book.js';

const KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OTHER = 'Pkoq9FLgkhHyIwvNGvNgqQvNdQqyVpAfVGOF4kMJVqc';
const at = new Date(0);
const created = (keyId: string, publicKey = KEY): KeyEvent => ({
  type: 'KeyCreated',
  data: { keyId, algorithm: 'ed25519', publicKey, at },
});
const revoked = (keyId: string): KeyEvent => ({ type: 'KeyRevoked', data: { keyId, reason: 'leaked', at } });

describe('the book of signing keys', () => {
  it('answers a created key and calls its public key valid, in any base64 spelling', () => {
    const book = new KeyBook();
    assert.equal(book.apply('ed25519:0', 3, [created('ed25519:0')]), true);
    assert.deepEqual(book.lookup('ed25519:0'), { status: 'active', publicKey: KEY });
    assert.equal(book.isValid(KEY), true);
    assert.equal(book.isValid(`${KEY}=`), true, 'padded');
    assert.equal(book.isValid(OTHER), false);
    assert.equal(book.isValid('not base64!'), false);
    assert.equal(book.lookup('ed25519:1'), undefined, 'never mentioned');
  });

  it('keeps a revoked key as revoked, without its public key, and no longer valid', () => {
    const book = new KeyBook();
    book.apply('ed25519:0', 3, [created('ed25519:0')]);
    book.apply('ed25519:0', 9, [revoked('ed25519:0')]);
    assert.deepEqual(book.lookup('ed25519:0'), { status: 'revoked' });
    assert.equal(book.isValid(KEY), false);
  });

  it('names the key announced first, whatever order the keys are read in', () => {
    const book = new KeyBook();
    assert.equal(book.firstAnnounced(), undefined);
    book.apply('ed25519:b', 7, [created('ed25519:b', OTHER)]);
    book.apply('ed25519:a_AbCd', 2, [created('ed25519:a_AbCd')]);
    assert.deepEqual(book.firstAnnounced(), { status: 'active', publicKey: KEY });
  });

  it('knows a key revoked from the last decision alone (read without its history)', () => {
    const book = new KeyBook();
    book.apply('ed25519:0', 9, [revoked('ed25519:0')]);
    assert.deepEqual(book.lookup('ed25519:0'), { status: 'revoked' });
  });

  it('ignores a read older than the one it holds, whatever order reads come back in', () => {
    const book = new KeyBook();
    book.apply('ed25519:0', 9, [revoked('ed25519:0')]);
    assert.equal(book.apply('ed25519:0', 3, [created('ed25519:0')]), false);
    assert.equal(book.apply('ed25519:0', 9, [created('ed25519:0')]), false, 'the same decision again');
    assert.equal(book.isValid(KEY), false);
  });

  it('takes a new key under a revoked id, and only the new key is valid', () => {
    const book = new KeyBook();
    book.apply('ed25519:0', 3, [created('ed25519:0', KEY)]);
    book.apply('ed25519:0', 5, [revoked('ed25519:0')]);
    book.apply('ed25519:0', 7, [created('ed25519:0', OTHER)]);
    assert.deepEqual(book.lookup('ed25519:0'), { status: 'active', publicKey: OTHER });
    assert.equal(book.isValid(OTHER), true);
    assert.equal(book.isValid(KEY), false);
  });

  it('learns nothing from a decision without a key event it knows', () => {
    const book = new KeyBook();
    assert.equal(book.apply('ed25519:0', 3, []), false);
    assert.equal(book.lookup('ed25519:0'), undefined);
  });
});

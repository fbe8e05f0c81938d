import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hmacSha256Base64url } from './hmac-sha256.js';

const expected = (key: Uint8Array, message: string) =>
  createHmac('sha256', key).update(message, 'utf8').digest('base64url');

describe('hmacSha256Base64url', () => {
  it('answers RFC 4231 test case 2 (key "Jefe")', () =>
    assert.equal(
      Buffer.from(hmacSha256Base64url(Buffer.from('Jefe'))('what do ya want for nothing?'), 'base64url').toString(
        'hex',
      ),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ));

  it('answers what node:crypto answers, for keys of 0 to 200 bytes and messages across every block boundary', () => {
    const lengths = [0, 1, 31, 32, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 127, 128, 129, 300, 1000];
    for (const keyLength of [0, 1, 32, 63, 64, 65, 100, 200]) {
      const key = randomBytes(keyLength);
      const mac = hmacSha256Base64url(key);
      for (const length of lengths) {
        const message = randomBytes(length)
          .toString('latin1')
          .replace(/[^\x20-\x7e]/g, 'a');
        assert.equal(mac(message), expected(key, message), `key ${keyLength} bytes, message ${length}`);
      }
    }
  });

  it('hashes the UTF-8 bytes: multi-byte characters, emoji and a lone surrogate as node:crypto does', () => {
    const key = randomBytes(32);
    const mac = hmacSha256Base64url(key);
    for (const message of [
      'addr\0email\0strauß@example.org',
      'ü'.repeat(40),
      '😀'.repeat(30),
      'a\ud800b',
      `${'x'.repeat(55)}é`,
    ])
      assert.equal(mac(message), expected(key, message), JSON.stringify(message));
  });

  it('answers the same again after longer and shorter messages (its buffers are reused)', () => {
    const key = randomBytes(32);
    const mac = hmacSha256Base64url(key);
    const first = mac('short');
    mac('long'.repeat(500));
    assert.equal(mac('short'), first);
    assert.equal(first, expected(key, 'short'));
  });

  it('depends on the key: another key of the same length answers otherwise', () =>
    assert.notEqual(hmacSha256Base64url(Buffer.alloc(32, 1))('m'), hmacSha256Base64url(Buffer.alloc(32, 2))('m')));
});

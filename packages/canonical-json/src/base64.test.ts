import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Base64Error, decodeBase64, encodeBase64, encodeBase64Url, tryDecodeBase64 } from './base64.js';

// 0xfb 0xff 0xbf encodes as `+/+/` in the standard alphabet and `-_-_` in the URL-safe one.
const ALPHABET_BYTES = Uint8Array.of(0xfb, 0xff, 0xbf, 0xfb, 0xff);

describe('base64', () => {
  describe('encoding', () => {
    it('encodes with the standard alphabet and no padding', () => {
      assert.equal(encodeBase64(ALPHABET_BYTES), '+/+/+/8');
      assert.equal(encodeBase64(new TextEncoder().encode('a')), 'YQ');
      assert.equal(encodeBase64(new TextEncoder().encode('ab')), 'YWI');
      assert.equal(encodeBase64(new TextEncoder().encode('abc')), 'YWJj');
      assert.equal(encodeBase64(new Uint8Array(0)), '');
    });

    it('encodes with the URL-safe alphabet and no padding', () => {
      assert.equal(encodeBase64Url(ALPHABET_BYTES), '-_-_-_8');
      assert.equal(encodeBase64Url(new TextEncoder().encode('a')), 'YQ');
    });

    it('encodes only the bytes of a view, not its whole buffer', () => {
      const view = new Uint8Array(Uint8Array.of(0, 0xfb, 0xff, 0xbf, 0).buffer, 1, 3);
      assert.equal(encodeBase64(view), '+/+/');
    });
  });

  describe('decoding', () => {
    it('decodes both alphabets, padded or not, to the same bytes', () => {
      for (const text of ['+/+/+/8', '-_-_-_8', '+/+/+/8=', '-_-_-_8=']) {
        assert.deepEqual(decodeBase64(text), ALPHABET_BYTES, text);
      }
      assert.deepEqual(decodeBase64('YQ=='), decodeBase64('YQ'));
    });

    it('returns a plain Uint8Array', () => {
      assert.equal(Object.getPrototypeOf(decodeBase64('YWJj')), Uint8Array.prototype);
    });

    it('round-trips every length from 0 to 64 bytes in both alphabets', () => {
      const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff);
      for (let length = 0; length <= 64; length++) {
        const slice = bytes.subarray(0, length);
        assert.deepEqual(decodeBase64(encodeBase64(slice)), Uint8Array.from(slice));
        assert.deepEqual(decodeBase64(encodeBase64Url(slice)), Uint8Array.from(slice));
      }
    });

    it('ignores non-zero bits after the last byte, as the spec test seed needs', () => {
      assert.equal(decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1').length, 32);
      assert.deepEqual(decodeBase64('YR'), decodeBase64('YQ'));
    });

    it('rejects characters outside both alphabets, which Buffer.from would skip', () => {
      for (const text of ['YW*j', 'YW j', 'YWJj\n', 'YW.j', 'é', 'YWJj%3D']) {
        assert.throws(() => decodeBase64(text), Base64Error, JSON.stringify(text));
      }
    });

    it('rejects a mix of the two alphabets', () => {
      assert.throws(() => decodeBase64('+/-_'), Base64Error);
    });

    it('rejects impossible lengths and malformed padding', () => {
      for (const text of ['Y', 'YWJjZ', 'Y=', 'Y===', 'YQ=', 'YWI==', 'YWJj=', 'YWJj====', '=', 'YQ==YQ', 'YQ=a']) {
        assert.throws(() => decodeBase64(text), Base64Error, text);
      }
    });

    it('decodes the empty string to no bytes', () => {
      assert.deepEqual(decodeBase64(''), new Uint8Array(0));
    });
  });
});

describe('tryDecodeBase64', () => {
  it('gives the bytes of base64, and undefined for text that is not base64', () => {
    assert.deepEqual(tryDecodeBase64('AQID'), new Uint8Array([1, 2, 3]));
    for (const bad of ['A', 'AQ=I', '!!!!', 'AQID===']) assert.equal(tryDecodeBase64(bad), undefined, bad);
  });
});

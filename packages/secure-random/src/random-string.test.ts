import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomString } from './random-string.js';

describe('randomString', () => {
  it('gives the length asked for, from the alphabet only', () => {
    for (const length of [0, 1, 5, 32, 300]) {
      const text = randomString('abc', length);
      assert.equal(text.length, length);
      assert.match(text, /^[abc]*$/);
    }
    assert.equal([...randomString('😀😎', 10)].length, 10, 'characters, not UTF-16 units');
  });

  it('uses every character about equally often, with no modulo bias (62 does not divide 256)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const counts = new Map<string, number>();
    for (const char of randomString(alphabet, 62 * 2000)) counts.set(char, (counts.get(char) ?? 0) + 1);
    assert.equal(counts.size, 62);
    // Modulo bias would give the first 8 characters 5/4 of the others' share: 2500 against 2000.
    for (const [char, count] of counts) assert.ok(Math.abs(count - 2000) < 300, `${char}: ${count}`);
  });

  it('refuses an alphabet of fewer than 2 or more than 256 characters, and a bad length', () => {
    assert.throws(() => randomString('a', 4), RangeError);
    assert.throws(() => randomString('x'.repeat(257), 4), RangeError);
    assert.throws(() => randomString('ab', -1), RangeError);
    assert.throws(() => randomString('ab', 1.5), RangeError);
  });
});

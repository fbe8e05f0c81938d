import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from './random-bytes.js';

describe('randomBytes', () => {
  it('gives the size asked for, in a buffer of its own', () => {
    for (const size of [0, 1, 12, 32, 256, 257, 10_000]) assert.equal(randomBytes(size).length, size);
    const a = randomBytes(16);
    const copy = Buffer.from(a);
    randomBytes(8192); // refills nothing it handed out: `a` does not change
    for (let i = 0; i < 2000; i++) randomBytes(12);
    assert.deepEqual(a, copy);
  });

  it('never repeats a draw, across many refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(randomBytes(12).toString('hex'));
    assert.equal(seen.size, 20_000);
  });

  it('spreads its bytes evenly (each value 0-255 within 25 % of its expected count)', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4000; i++) for (const byte of randomBytes(64)) counts[byte] = (counts[byte] ?? 0) + 1;
    const expected = (4000 * 64) / 256;
    for (const count of counts) assert.ok(Math.abs(count - expected) < expected * 0.25, `count ${count}`);
  });

  it('refuses a size that is not a non-negative integer', () => {
    for (const size of [-1, 1.5, Number.NaN]) assert.throws(() => randomBytes(size), RangeError);
  });
});

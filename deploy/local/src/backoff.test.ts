import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, DEFAULT_BACKOFF, RestartBackoff } from './backoff.js';

describe('restart backoff', () => {
  it('starts at 250 ms and doubles up to 10 s', () => {
    const delays = Array.from({ length: 9 }, (_, i) => backoffDelay(i + 1));
    assert.deepEqual(delays, [250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it('never overflows, however long the crash series', () => {
    assert.equal(backoffDelay(5_000, DEFAULT_BACKOFF), 10_000);
  });

  it('grows while the child keeps crashing soon after starting', () => {
    const backoff = new RestartBackoff();
    assert.deepEqual([backoff.next(100), backoff.next(2_000), backoff.next(29_999)], [250, 500, 1_000]);
  });

  it('starts over once the child stayed up 30 s', () => {
    const backoff = new RestartBackoff();
    backoff.next(10);
    backoff.next(10);
    assert.equal(backoff.next(30_000), 250);
    assert.equal(backoff.next(10), 500);
  });
});

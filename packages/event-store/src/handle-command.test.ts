import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictBackoffMs } from './handle-command.js';

describe('the pause after a conflict', () => {
  it('is a random share of a ceiling that doubles from 5 ms up to 50 ms', () => {
    const almostOne = () => 1 - Number.EPSILON;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9].map((retry) => Math.round(conflictBackoffMs(retry, almostOne))),
      [5, 10, 20, 40, 50, 50],
    );
    assert.equal(
      conflictBackoffMs(3, () => 0.5),
      10,
    );
    assert.equal(
      conflictBackoffMs(1, () => 0),
      0,
    );
  });

  it('differs between callers that lost the same race', () => {
    const pauses = new Set(Array.from({ length: 20 }, () => conflictBackoffMs(2)));
    assert.ok(pauses.size > 1);
  });
});

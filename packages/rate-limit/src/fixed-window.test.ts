import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedWindow } from './fixed-window.js';

describe('fixedWindow', () => {
  it('puts instants of the same window under one index, whatever the replica', () => {
    assert.equal(fixedWindow(60_000, 60_000).index, 1);
    assert.equal(fixedWindow(119_999, 60_000).index, 1);
    assert.equal(fixedWindow(120_000, 60_000).index, 2);
  });

  it('counts the time left until the window ends, never zero', () => {
    assert.equal(fixedWindow(60_000, 60_000).remainingMs, 60_000);
    assert.equal(fixedWindow(119_999, 60_000).remainingMs, 1);
    assert.equal(fixedWindow(90_000, 60_000).remainingMs, 30_000);
  });

  it('refuses a window that is not a positive whole number of milliseconds', () => {
    for (const windowMs of [0, -1, 1.5, Number.NaN]) assert.throws(() => fixedWindow(1, windowMs), RangeError);
  });
});

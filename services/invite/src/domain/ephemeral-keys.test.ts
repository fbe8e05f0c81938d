import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { type EphemeralKeysCommand, type EphemeralKeysEvent, ephemeralKeysDecider } from './ephemeral-keys.js';

const given = deciderSpec(ephemeralKeysDecider);
const T0 = new Date('2026-12-04T10:00:00Z');
const KEYS = ['S7Jt50IC_134aFq5JzbvCgEdZzcgHZQRq4MpTWr9SLY', 'GD_oUoyIlfeMoJcwqfzRuAEi1sv5DFvYsB3xpuvgrA4'];
const importKeys = (publicKeys = KEYS, now = T0): EphemeralKeysCommand => ({
  type: 'ImportEphemeralKeys',
  publicKeys,
  now,
});
const imported = (publicKeys = KEYS, at = T0): EphemeralKeysEvent => ({
  type: 'EphemeralKeysImported',
  data: { publicKeys, at },
});

describe('a batch of imported ephemeral keys', () => {
  it('is imported once, its keys in order', () => {
    const when = given([]).when(importKeys());
    when.then([imported()]);
    assert.equal(when.stateAfter().imported, true);
  });

  it('changes nothing when imported again', () =>
    given([imported()])
      .when(importKeys(KEYS, new Date(T0.getTime() + 60_000)))
      .then([]));

  it('is never empty', () =>
    given([])
      .when(importKeys([]))
      .thenThrows(/at least one key/));
});

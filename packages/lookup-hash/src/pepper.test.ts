import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newLookupPepper, PEPPER_LENGTH } from './pepper.js';

describe('newLookupPepper', () => {
  it('draws 32 letters and digits, never the same twice', () => {
    const peppers = new Set(Array.from({ length: 1000 }, () => newLookupPepper()));
    assert.equal(peppers.size, 1000);
    for (const pepper of peppers) assert.match(pepper, /^[A-Za-z0-9]{32}$/);
    assert.equal(PEPPER_LENGTH, 32);
  });
});

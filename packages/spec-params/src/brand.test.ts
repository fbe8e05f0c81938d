import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brandOf } from './brand.js';

describe('brand', () => {
  it('takes a folder name of letters, digits, _ and -', () => {
    for (const good of ['vector-im', 'matrix_org', 'is-test', 'B1', 'x'.repeat(64)]) assert.equal(brandOf(good), good);
  });

  it('falls back to the default brand (undefined) for anything that could leave the templates folder or is no name', () => {
    for (const other of ['', '../etc', 'a/b', '.', '..', 'a.b', 'x'.repeat(65), 'ü', ['a'], 1, undefined, null])
      assert.equal(brandOf(other), undefined, JSON.stringify(other));
  });
});

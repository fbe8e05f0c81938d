import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseTokenType } from './openid-credentials.js';

describe('token_type', () => {
  it('is Bearer when given as Bearer or absent', () => {
    assert.equal(parseTokenType('Bearer'), 'Bearer');
    assert.equal(parseTokenType(undefined), 'Bearer');
  });

  it('refuses any other type with M_INVALID_PARAM', () => {
    for (const bad of ['', 'bearer', 'MAC', 'Bearer '])
      assert.throws(
        () => parseTokenType(bad),
        (err) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM',
        JSON.stringify(bad),
      );
  });
});

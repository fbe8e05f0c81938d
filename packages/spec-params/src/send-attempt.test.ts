import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseSendAttempt } from './send-attempt.js';

const invalidParam = (err: unknown) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM';

describe('send_attempt', () => {
  it('takes a JSON integer from 0 to 2^53-1', () => {
    assert.equal(parseSendAttempt(0), 0);
    assert.equal(parseSendAttempt(1), 1);
    assert.equal(parseSendAttempt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    assert.ok(Object.is(parseSendAttempt(-0), 0), '-0 is 0');
  });

  it('takes a string of ASCII digits, as Element and form bodies send it', () => {
    assert.equal(parseSendAttempt('1'), 1);
    assert.equal(parseSendAttempt('0'), 0);
    assert.equal(parseSendAttempt('007'), 7);
    assert.equal(parseSendAttempt(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  it('refuses negative, fractional and too large numbers, and non-numbers', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, 2 ** 63]) {
      assert.throws(() => parseSendAttempt(bad), invalidParam, String(bad));
    }
    for (const bad of [true, null, undefined, {}, [1], 1n]) assert.throws(() => parseSendAttempt(bad), invalidParam);
  });

  it('refuses every string that is not ASCII digits only, or is too large', () => {
    for (const bad of [
      '',
      ' 1',
      '1 ',
      '+1',
      '-1',
      '1.0',
      '1e3',
      '0x10',
      'one',
      '١', // an Arabic-Indic digit: a digit, not an ASCII one
      '１', // a full-width digit
      String(Number.MAX_SAFE_INTEGER + 1),
      '9'.repeat(400),
    ]) {
      assert.throws(() => parseSendAttempt(bad), invalidParam, JSON.stringify(bad));
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeThreepid } from './threepid.js';

describe('normalizeThreepid', () => {
  it('checks and case-folds an email address', () => {
    assert.equal(normalizeThreepid('email', 'Strauß@Example.COM'), 'strauss@example.com');
    assert.throws(() => normalizeThreepid('email', 'mailto:a@b.c'), { errcode: 'M_INVALID_EMAIL' });
  });

  it('returns an msisdn of E.164 digits as it is', () => {
    assert.equal(normalizeThreepid('msisdn', '447400123456'), '447400123456');
  });

  it('refuses an msisdn that is not bare E.164 digits with M_INVALID_ADDRESS', () => {
    for (const address of ['+447400123456', '07400 123456', 'abc']) {
      assert.throws(() => normalizeThreepid('msisdn', address), { errcode: 'M_INVALID_ADDRESS' }, address);
    }
  });

  it('answers an unknown medium with M_UNRECOGNIZED and HTTP 400 (mediums are case-sensitive)', () => {
    for (const medium of ['phone', 'Email', '']) {
      assert.throws(
        () => normalizeThreepid(medium, 'a@b.c'),
        { name: 'TesseraError', errcode: 'M_UNRECOGNIZED', message: 'unknown medium', httpStatus: 400 },
        medium,
      );
    }
  });
});

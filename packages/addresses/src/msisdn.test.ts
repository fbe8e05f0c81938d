import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { isMsisdn, normalizeMsisdn } from './msisdn.js';

const INVALID_ADDRESS = { name: 'TesseraError', errcode: 'M_INVALID_ADDRESS' };

describe('normalizeMsisdn', () => {
  it('turns a UK mobile in national format into E.164 digits without +', () => {
    assert.deepEqual(normalizeMsisdn({ phoneNumber: '07400 123456', country: 'GB' }), {
      msisdn: '447400123456',
      country: 'GB',
      international: '+44 7400 123456',
    });
  });

  it('takes the country in any case and returns it upper-case', () => {
    assert.deepEqual(normalizeMsisdn({ phoneNumber: '07400123456', country: 'gb' }), {
      msisdn: '447400123456',
      country: 'GB',
      international: '+44 7400 123456',
    });
  });

  it('accepts US and FR numbers written with spaces, dashes, dots and brackets', () => {
    assert.equal(normalizeMsisdn({ phoneNumber: '(201) 555-0123', country: 'US' }).msisdn, '12015550123');
    assert.equal(normalizeMsisdn({ phoneNumber: '201-555-0123', country: 'US' }).msisdn, '12015550123');
    assert.equal(normalizeMsisdn({ phoneNumber: '201.555.0123', country: 'us' }).msisdn, '12015550123');
    assert.equal(normalizeMsisdn({ phoneNumber: '06 12 34 56 78', country: 'FR' }).msisdn, '33612345678');
  });

  it("gives the international format each country spaces its numbers in (Sydent's intl_fmt)", () => {
    assert.equal(normalizeMsisdn({ phoneNumber: '(201) 555-0123', country: 'US' }).international, '+1 201 555 0123');
    assert.equal(normalizeMsisdn({ phoneNumber: '06 12 34 56 78', country: 'FR' }).international, '+33 6 12 34 56 78');
  });

  it('parses a +-prefixed number of another country and keeps the country it was dialled from', () => {
    assert.deepEqual(normalizeMsisdn({ phoneNumber: '+44 7400 123456', country: 'US' }), {
      msisdn: '447400123456',
      country: 'US',
      international: '+44 7400 123456',
    });
    assert.equal(normalizeMsisdn({ phoneNumber: '+33 6 12 34 56 78', country: 'GB' }).msisdn, '33612345678');
    assert.equal(normalizeMsisdn({ phoneNumber: '+1-201-555-0123', country: 'FR' }).msisdn, '12015550123');
  });

  it('parses the international call prefix of the country it was dialled from (00 in GB, 011 in US)', () => {
    assert.equal(normalizeMsisdn({ phoneNumber: '0033 6 12 34 56 78', country: 'GB' }).msisdn, '33612345678');
    assert.equal(normalizeMsisdn({ phoneNumber: '011 44 7400 123456', country: 'US' }).msisdn, '447400123456');
  });

  it('refuses numbers that are not valid, including the UK drama range 07700 900xxx', () => {
    const rejected = ['07700 900001', '12345', '0740012345678', '', 'abc', '+', '+44', '555-0123'];
    for (const phoneNumber of rejected) {
      assert.throws(() => normalizeMsisdn({ phoneNumber, country: 'GB' }), INVALID_ADDRESS, phoneNumber);
    }
  });

  it('refuses a number with an extension', () => {
    assert.throws(() => normalizeMsisdn({ phoneNumber: '+44 7400 123456 ext. 12', country: 'GB' }), INVALID_ADDRESS);
  });

  it('refuses a country that is not a known ISO 3166-1 alpha-2 code (UK is not one: GB is)', () => {
    for (const country of ['', 'G', 'GBR', '4', 'G1', ' GB', 'UK', 'ZZ']) {
      assert.throws(() => normalizeMsisdn({ phoneNumber: '+44 7400 123456', country }), INVALID_ADDRESS, country);
    }
  });

  it('never repeats the number in its error message', () => {
    assert.throws(
      () => normalizeMsisdn({ phoneNumber: '07700 900001', country: 'GB' }),
      (err) => err instanceof TesseraError && !/7700|900001/.test(err.message),
    );
  });
});

describe('isMsisdn', () => {
  it('accepts 5 to 15 digits not starting with 0', () => {
    for (const value of ['447400123456', '12345', '123456789012345']) assert.equal(isMsisdn(value), true, value);
  });

  it('refuses a +, separators, too few or too many digits, a leading 0 and non-ASCII digits', () => {
    const refused = ['+447400123456', '44 7400 123456', '44-7400-123456', '1234', '1234567890123456'];
    for (const value of [...refused, '07400123456', '', '４４７４００１２３４５６', '447400123456\n']) {
      assert.equal(isMsisdn(value), false, JSON.stringify(value));
    }
  });
});

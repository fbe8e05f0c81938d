import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import {
  checkAddress,
  checkClientSecret,
  checkCountry,
  checkMedium,
  checkNextLink,
  checkSendAttempt,
  checkServerName,
  checkSid,
  checkToken,
  cleanBrand,
  cleanClientIp,
  serverOfUserId,
} from './request-checks.js';

const refusedWith = (errcode: string) => (err: unknown) => err instanceof TesseraError && err.errcode === errcode;

describe('request checks', () => {
  it('takes email and msisdn, and refuses an unspecified medium', () => {
    assert.equal(checkMedium(Medium.MEDIUM_EMAIL), 'email');
    assert.equal(checkMedium(Medium.MEDIUM_MSISDN), 'msisdn');
    assert.throws(() => checkMedium(Medium.MEDIUM_UNSPECIFIED), refusedWith('M_INVALID_PARAM'));
  });

  it('takes a normalised address and refuses one that normalises to something else', () => {
    assert.equal(checkAddress('email', 'strauss@example.com'), 'strauss@example.com');
    assert.equal(checkAddress('msisdn', '447700900123'), '447700900123');
    assert.throws(() => checkAddress('email', 'Strauß@Example.com'), refusedWith('M_INVALID_PARAM'));
    assert.throws(() => checkAddress('email', 'nobody'), refusedWith('M_INVALID_EMAIL'));
    assert.throws(() => checkAddress('msisdn', '+447700900123'), refusedWith('M_INVALID_ADDRESS'));
  });

  it('takes client secrets of 1 to 255 characters of [0-9a-zA-Z.=_-] only', () => {
    assert.equal(checkClientSecret('aZ09.=_-'), 'aZ09.=_-');
    assert.equal(checkClientSecret('a'.repeat(255)).length, 255);
    for (const bad of ['', 'a'.repeat(256), 'with space', 'ünïcode', 'a/b'])
      assert.throws(() => checkClientSecret(bad), refusedWith('M_INVALID_PARAM'));
  });

  it('takes spec-shaped sids only', () => {
    assert.equal(checkSid('123'), '123');
    assert.throws(() => checkSid(''), refusedWith('M_INVALID_PARAM'));
    assert.throws(() => checkSid('a b'), refusedWith('M_INVALID_PARAM'));
  });

  it('takes send_attempt from 0 up to the largest safe integer', () => {
    assert.equal(checkSendAttempt(0), 0);
    assert.equal(checkSendAttempt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => checkSendAttempt(bad), refusedWith('M_INVALID_PARAM'));
  });

  it('takes http and https next_links only', () => {
    assert.equal(checkNextLink(''), null);
    assert.equal(checkNextLink('https://a.example/x?y=1'), 'https://a.example/x?y=1');
    assert.equal(checkNextLink('http://a.example'), 'http://a.example');
    for (const bad of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      '/relative',
      `https://a.example/${'x'.repeat(5000)}`,
    ])
      assert.throws(() => checkNextLink(bad), refusedWith('M_INVALID_PARAM'));
  });

  it('upper-cases the country of an SMS and drops it for email', () => {
    assert.equal(checkCountry('msisdn', 'gb'), 'GB');
    assert.equal(checkCountry('email', 'gb'), '');
    assert.throws(() => checkCountry('msisdn', 'GBR'), refusedWith('M_INVALID_PARAM'));
  });

  it('falls back to the default brand for a brand that cannot be a folder name', () => {
    assert.equal(cleanBrand('vector-im'), 'vector-im');
    assert.equal(cleanBrand('../etc'), '');
  });

  it('keeps only IP addresses as the client IP', () => {
    assert.equal(cleanClientIp('2001:db8::1'), '2001:db8::1');
    assert.equal(cleanClientIp('example.org'), '');
  });

  it('takes tokens of 1 to 255 code points', () => {
    assert.equal(checkToken('123456'), '123456');
    assert.equal(checkToken('😀'.repeat(255)).length, 510);
    assert.throws(() => checkToken(''), refusedWith('M_INVALID_PARAM'));
    assert.throws(() => checkToken('a'.repeat(256)), refusedWith('M_INVALID_PARAM'));
  });

  it('lower-cases a server name and refuses what is none', () => {
    assert.equal(checkServerName('Matrix.Example.ORG:8448'), 'matrix.example.org:8448');
    assert.equal(checkServerName('[::1]:8448'), '[::1]:8448');
    for (const bad of ['', 'a b', 'example.org:0', 'example.org:99999', 'https://example.org'])
      assert.throws(() => checkServerName(bad), refusedWith('M_INVALID_PARAM'));
  });

  it('finds the server of a user id, lower-cased', () => {
    assert.equal(serverOfUserId('@alice:Example.org'), 'example.org');
    assert.equal(serverOfUserId('@alice:localhost:8448'), 'localhost:8448');
    assert.equal(serverOfUserId('alice:example.org'), null);
    assert.equal(serverOfUserId('@:example.org'), null);
    assert.equal(serverOfUserId('@alice'), null);
  });
});

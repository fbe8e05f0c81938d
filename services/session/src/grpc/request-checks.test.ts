import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import {
  checkClientLowercaseAddress,
  checkCountry,
  checkServerName,
  cleanClientIp,
  serverOfUserId,
} from './request-checks.js';

const refusedWith = (errcode: string) => (err: unknown) => err instanceof TesseraError && err.errcode === errcode;

describe('request checks', () => {
  it('upper-cases the country of an SMS and drops it for email', () => {
    assert.equal(checkCountry('msisdn', 'gb'), 'GB');
    assert.equal(checkCountry('email', 'gb'), '');
    assert.throws(() => checkCountry('msisdn', 'GBR'), refusedWith('M_INVALID_PARAM'));
  });

  it("keeps the client's lower-cased form of an email address, and nothing else", () => {
    assert.equal(checkClientLowercaseAddress('email', 'strasse@x.org', 'straße@x.org'), 'straße@x.org');
    assert.equal(checkClientLowercaseAddress('email', 'οδοσ@x.gr', 'οδος@x.gr'), 'οδος@x.gr');
    assert.equal(checkClientLowercaseAddress('email', 'strasse@x.org', ''), '');
    assert.equal(checkClientLowercaseAddress('msisdn', '447700900123', ''), '');
    for (const [medium, address, form] of [
      ['email', 'strasse@x.org', 'strasse@x.org'], // the same as the address: nothing to add
      ['email', 'strasse@x.org', 'Straße@x.org'], // not lower-cased: no client hashes it
      ['email', 'strasse@x.org', 'straße@y.org'], // a form of another address
      ['email', 'strasse@x.org', 'not an address'],
      ['msisdn', '447700900123', 'straße@x.org'],
    ] as const)
      assert.throws(() => checkClientLowercaseAddress(medium, address, form), refusedWith('M_INVALID_PARAM'), form);
  });

  it('keeps only IP addresses as the client IP', () => {
    assert.equal(cleanClientIp('2001:db8::1'), '2001:db8::1');
    assert.equal(cleanClientIp('example.org'), '');
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

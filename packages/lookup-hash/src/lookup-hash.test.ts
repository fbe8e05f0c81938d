import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { clientLowercaseEmail } from '@tessera/addresses';
import {
  indexForms,
  indexHashes,
  isLookupAlgorithm,
  lookupHash,
  noneLookupEntry,
  parseNoneLookupEntry,
} from './lookup-hash.js';

describe('lookupHash', () => {
  it("gives the spec's test vectors (pepper matrixrocks)", () => {
    assert.equal(
      lookupHash('alice@example.com', 'email', 'matrixrocks'),
      '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc',
    );
    assert.equal(lookupHash('bob@example.com', 'email', 'matrixrocks'), 'LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8');
    assert.equal(lookupHash('18005552067', 'msisdn', 'matrixrocks'), 'nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I');
  });

  it('hashes the UTF-8 of non-ASCII addresses, unpadded URL-safe, and the address exactly as given', () => {
    const expected = createHash('sha256').update(Buffer.from('straße@x.org email p', 'utf8')).digest('base64url');
    assert.equal(lookupHash('straße@x.org', 'email', 'p'), expected);
    assert.match(expected, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(lookupHash('Alice@example.com', 'email', 'p'), lookupHash('alice@example.com', 'email', 'p'));
  });
});

describe('the none algorithm', () => {
  it('writes and reads "<address> <medium>"', () => {
    assert.equal(noneLookupEntry('alice@example.com', 'email'), 'alice@example.com email');
    assert.deepEqual(parseNoneLookupEntry('alice@example.com email'), {
      address: 'alice@example.com',
      medium: 'email',
    });
    assert.deepEqual(parseNoneLookupEntry('18005552067 msisdn'), { address: '18005552067', medium: 'msisdn' });
  });

  it('refuses entries that are not exactly two non-empty parts', () => {
    for (const entry of ['alice@example.com', 'a b c', 'a  email', ' email', 'a ', '', 'a email matrixrocks'])
      assert.equal(parseNoneLookupEntry(entry), undefined, JSON.stringify(entry));
  });

  it('knows sha256 and none, and nothing else', () => {
    assert.ok(isLookupAlgorithm('sha256'));
    assert.ok(isLookupAlgorithm('none'));
    for (const other of ['SHA256', 'sha512', '', undefined, 256]) assert.equal(isLookupAlgorithm(other), false);
  });
});

describe('indexForms and indexHashes', () => {
  it('index an ASCII email once, in its folded form, whatever its case', () => {
    assert.deepEqual(indexForms('email', 'Alice@Example.COM'), ['alice@example.com']);
    assert.deepEqual(indexHashes('email', 'alice@example.com', 'matrixrocks'), [
      '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc',
    ]);
  });

  it("index ß twice: the folded form (spec, Sydent) and matrix-js-sdk's toLowerCase form", () => {
    const typed = 'Straße@Example.org';
    assert.deepEqual(indexForms('email', typed), ['strasse@example.org', 'straße@example.org']);
    // What matrix-js-sdk sends: sha256 of `${address.toLowerCase()} ${medium.toLowerCase()} ${pepper}`.
    const fromElement = lookupHash(typed.toLowerCase(), 'email', 'pep');
    const fromSpecClient = lookupHash('strasse@example.org', 'email', 'pep');
    assert.deepEqual(indexHashes('email', typed, 'pep'), [fromSpecClient, fromElement]);
  });

  it('index the other places where folding and toLowerCase part: final sigma, Cherokee', () => {
    // JS toLowerCase writes a final sigma at the end of a word; folding never does.
    assert.deepEqual(indexForms('email', 'ΟΔΟΣ@x.gr'), ['οδοσ@x.gr', 'οδος@x.gr']);
    // Folding maps Cherokee small letters to capitals; toLowerCase does the opposite.
    assert.deepEqual(indexForms('email', 'ꭰ@x.org'), ['Ꭰ@x.org', 'ꭰ@x.org']);
  });

  it('give the same forms for the client form the session kept as for the address typed', () => {
    for (const typed of ['Straße@Example.org', 'ΟΔΟΣ@x.gr', 'ꭰ@x.org']) {
      const kept = clientLowercaseEmail(typed);
      assert.ok(kept !== undefined, typed);
      assert.deepEqual(indexForms('email', kept), indexForms('email', typed), typed);
    }
  });

  it('index an msisdn once, as it is', () => {
    assert.deepEqual(indexHashes('msisdn', '18005552067', 'matrixrocks'), [
      'nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I',
    ]);
  });

  it('refuse what could never be bound: an invalid address or an unknown medium', () => {
    assert.throws(() => indexForms('email', 'not an address'), { errcode: 'M_INVALID_EMAIL' });
    assert.throws(() => indexForms('msisdn', '+18005552067'), { errcode: 'M_INVALID_ADDRESS' });
    assert.throws(() => indexForms('carrier-pigeon', 'coo'), { errcode: 'M_UNRECOGNIZED' });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBase64, encodeBase64, encodeBase64Url } from './base64.js';
import { CanonicalJsonError } from './canonical-json.js';
import { generateSeed, keyPairFromSeed } from './ed25519.js';
import { signJson, verifyJsonSignature } from './sign-json.js';

// Spec appendix test vectors (NOTES.md §1.4).
const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
const { publicKey } = keyPairFromSeed(seed);
const key = { entity: 'domain', keyId: 'ed25519:1', seed };
const verifier = { entity: 'domain', keyId: 'ed25519:1', publicKey };
const EMPTY_SIGNATURE = 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ';
const ONE_TWO_SIGNATURE = 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw';

describe('signJson', () => {
  it('signs {} with the spec signature', () => {
    assert.deepEqual(signJson({}, key), { signatures: { domain: { 'ed25519:1': EMPTY_SIGNATURE } } });
  });

  it('signs {"one":1,"two":"Two"} with the spec signature', () => {
    assert.deepEqual(signJson({ two: 'Two', one: 1 }, key), {
      one: 1,
      two: 'Two',
      signatures: { domain: { 'ed25519:1': ONE_TWO_SIGNATURE } },
    });
  });

  it('returns a new object and leaves the input, nested signatures included, untouched', () => {
    const input = { one: 1, two: 'Two', signatures: { domain: { 'ed25519:0': 'old' } } };
    const before = structuredClone(input);
    const signed = signJson(input, key);
    assert.notEqual(signed, input);
    assert.deepEqual(input, before);
  });

  it('keeps existing signatures, by other entities and by other keys of the same entity', () => {
    const input = {
      one: 1,
      two: 'Two',
      signatures: { 'other.example': { 'ed25519:a': 'sigA' }, domain: { 'ed25519:0': 'sig0' } },
    };
    assert.deepEqual(signJson(input, key).signatures, {
      'other.example': { 'ed25519:a': 'sigA' },
      domain: { 'ed25519:0': 'sig0', 'ed25519:1': ONE_TWO_SIGNATURE },
    });
  });

  it('leaves unsigned out of the signature and puts it back unchanged', () => {
    const unsigned = { age_ts: 1_000, note: 'not covered' };
    const signed = signJson({ one: 1, two: 'Two', unsigned }, key);
    assert.equal(signed.signatures.domain?.['ed25519:1'], ONE_TWO_SIGNATURE);
    assert.deepEqual(signed.unsigned, unsigned);
    assert.ok(verifyJsonSignature({ ...signed, unsigned: { note: 'changed' } }, verifier));
  });

  it('adds no unsigned key when the input had none', () => {
    assert.equal(Object.hasOwn(signJson({ a: 1 }, key), 'unsigned'), false);
  });

  it('replaces its own earlier signature by the same key id rather than signing it', () => {
    const twice = signJson(signJson({ one: 1, two: 'Two' }, key), key);
    assert.deepEqual(twice.signatures, { domain: { 'ed25519:1': ONE_TWO_SIGNATURE } });
  });

  it('refuses key ids of other algorithms or without a version', () => {
    for (const keyId of ['curve25519:1', 'ed25519', 'ed25519:', 'ed25519:a b']) {
      assert.throws(() => signJson({}, { ...key, keyId }), RangeError, keyId);
    }
  });

  it('refuses content without a canonical form, and arrays', () => {
    assert.throws(() => signJson({ ratio: 0.5 }, key), CanonicalJsonError);
    assert.throws(() => signJson([1, 2], key), TypeError);
  });

  it('refuses existing signatures that are not objects', () => {
    assert.throws(() => signJson({ signatures: 'x' }, key), TypeError);
    assert.throws(() => signJson({ signatures: { domain: 'x' } }, key), TypeError);
  });
});

describe('verifyJsonSignature', () => {
  const signed = signJson({ one: 1, two: 'Two' }, key);

  it('accepts the spec vectors', () => {
    assert.ok(verifyJsonSignature({ signatures: { domain: { 'ed25519:1': EMPTY_SIGNATURE } } }, verifier));
    assert.ok(verifyJsonSignature(signed, verifier));
  });

  it('accepts a signed object after a JSON round trip with other whitespace and key order', () => {
    const text = JSON.stringify({ signatures: signed.signatures, two: 'Two', one: 1 }, null, 2);
    assert.ok(verifyJsonSignature(JSON.parse(text), verifier));
  });

  it('refuses a tampered object: a changed, added or removed field', () => {
    assert.equal(verifyJsonSignature({ ...signed, one: 2 }, verifier), false);
    assert.equal(verifyJsonSignature({ ...signed, three: 3 }, verifier), false);
    const { two: _two, ...withoutTwo } = signed;
    assert.equal(verifyJsonSignature(withoutTwo, verifier), false);
  });

  it('refuses a signature checked against another public key', () => {
    const otherKey = keyPairFromSeed(generateSeed()).publicKey;
    assert.equal(verifyJsonSignature(signed, { ...verifier, publicKey: otherKey }), false);
  });

  it('refuses when signatures are missing or hold no entry for the entity', () => {
    assert.equal(verifyJsonSignature({ one: 1, two: 'Two' }, verifier), false);
    assert.equal(verifyJsonSignature(signed, { ...verifier, entity: 'other.example' }), false);
    assert.equal(verifyJsonSignature({ ...signed, signatures: 'x' }, verifier), false);
    assert.equal(verifyJsonSignature({ ...signed, signatures: { domain: 'x' } }, verifier), false);
  });

  it('refuses when only unknown algorithms remain, even with a valid ed25519 signature under their name', () => {
    const renamed = { ...signed, signatures: { domain: { 'curve25519:1': ONE_TWO_SIGNATURE } } };
    assert.equal(verifyJsonSignature(renamed, { entity: 'domain', publicKey }), false);
    assert.equal(verifyJsonSignature(renamed, { ...verifier, keyId: 'curve25519:1' }), false);
  });

  it('checks only the key id asked for', () => {
    const moved = { ...signed, signatures: { domain: { 'ed25519:2': ONE_TWO_SIGNATURE } } };
    assert.equal(verifyJsonSignature(moved, verifier), false);
    assert.ok(verifyJsonSignature(moved, { ...verifier, keyId: 'ed25519:2' }));
  });

  it('without a key id, accepts any ed25519 signature by the entity that verifies', () => {
    const mixed = {
      ...signed,
      signatures: { domain: { 'ed25519:0': 'bm90IGEgc2lnbmF0dXJl', 'ed25519:1': ONE_TWO_SIGNATURE, 'x:1': 'y' } },
    };
    assert.ok(verifyJsonSignature(mixed, { entity: 'domain', publicKey }));
  });

  it('accepts a URL-safe or padded signature, since decoders accept both', () => {
    const bytes = decodeBase64(ONE_TWO_SIGNATURE);
    for (const encoded of [encodeBase64Url(bytes), `${encodeBase64(bytes)}==`]) {
      assert.ok(verifyJsonSignature({ ...signed, signatures: { domain: { 'ed25519:1': encoded } } }, verifier));
    }
  });

  it('answers false, without throwing, for bad base64, wrong sizes and non-string signatures', () => {
    for (const encoded of ['not base64!', 'YQ', '', 42, null, { a: 1 }]) {
      const bad = { ...signed, signatures: { domain: { 'ed25519:1': encoded } } };
      assert.equal(verifyJsonSignature(bad, verifier), false, JSON.stringify(encoded));
    }
    assert.equal(verifyJsonSignature(signed, { ...verifier, publicKey: new Uint8Array(5) }), false);
  });

  it('answers false, without throwing, for content with no canonical form and for non-objects', () => {
    assert.equal(verifyJsonSignature({ ...signed, one: 1.5 }, verifier), false);
    assert.equal(verifyJsonSignature({ ...signed, one: 2 ** 53 }, verifier), false);
    for (const value of [null, 'x', 1, [signed]]) assert.equal(verifyJsonSignature(value, verifier), false);
  });

  it('signs and verifies for an entity named "__proto__" as an ordinary key, through JSON', () => {
    const odd = { ...key, entity: '__proto__' };
    const text = JSON.stringify(signJson({ one: 1, two: 'Two' }, odd));
    assert.ok(text.includes('"__proto__":{"ed25519:1"'));
    assert.ok(verifyJsonSignature(JSON.parse(text), { ...verifier, entity: '__proto__' }));
  });
});

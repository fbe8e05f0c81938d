import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { decodeBase64, encodeBase64 } from './base64.js';
import { generateSeed, keyPairFromSeed, signDetached, verifyDetached } from './ed25519.js';

// Spec appendix test vectors (NOTES.md §1.4).
const SPEC_SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
const SPEC_PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const message = new TextEncoder().encode('{}');

describe('ed25519', () => {
  it('derives the spec public key from the spec seed', () => {
    const keyPair = keyPairFromSeed(SPEC_SEED);
    assert.equal(encodeBase64(keyPair.publicKey), SPEC_PUBLIC_KEY);
    assert.deepEqual(keyPair.seed, SPEC_SEED);
    assert.equal(keyPair.secretKey.length, 64);
  });

  it('keeps its own copy of the seed', () => {
    const seed = Uint8Array.from(SPEC_SEED);
    const keyPair = keyPairFromSeed(seed);
    seed.fill(0);
    assert.deepEqual(keyPair.seed, SPEC_SEED);
  });

  it('rejects a seed that is not 32 bytes', () => {
    assert.throws(() => keyPairFromSeed(new Uint8Array(31)), RangeError);
    assert.throws(() => keyPairFromSeed(new Uint8Array(64)), RangeError);
  });

  it('generates distinct 32-byte seeds', () => {
    const a = generateSeed();
    const b = generateSeed();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
  });

  it('gives the spec signature of {} and verifies it', () => {
    const signature = signDetached(message, SPEC_SEED);
    assert.equal(
      encodeBase64(signature),
      'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ',
    );
    assert.ok(verifyDetached(message, signature, keyPairFromSeed(SPEC_SEED).publicKey));
  });

  it('refuses another message, another key, or a flipped bit', () => {
    const signature = signDetached(message, SPEC_SEED);
    const { publicKey } = keyPairFromSeed(SPEC_SEED);
    assert.equal(verifyDetached(new TextEncoder().encode('[]'), signature, publicKey), false);
    assert.equal(verifyDetached(message, signature, keyPairFromSeed(generateSeed()).publicKey), false);
    const flipped = Uint8Array.from(signature);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.equal(verifyDetached(message, flipped, publicKey), false);
  });

  it('answers false, without throwing, for a signature or key of the wrong size', () => {
    const signature = signDetached(message, SPEC_SEED);
    const { publicKey } = keyPairFromSeed(SPEC_SEED);
    assert.equal(verifyDetached(message, signature.subarray(0, 63), publicKey), false);
    assert.equal(verifyDetached(message, signature, publicKey.subarray(0, 31)), false);
    assert.equal(verifyDetached(message, new Uint8Array(0), new Uint8Array(0)), false);
  });

  it('signs as tweetnacl does, and with the new key when a seed array is reused with other bytes', () => {
    const seed = generateSeed();
    for (let i = 0; i < 20; i++) {
      const text = new TextEncoder().encode(`{"n":${i},"x":"${'y'.repeat(i * 7)}"}`);
      assert.deepEqual(signDetached(text, seed), nacl.sign.detached(text, keyPairFromSeed(seed).secretKey));
    }
    seed.set(generateSeed());
    const { publicKey } = keyPairFromSeed(seed);
    assert.ok(verifyDetached(message, signDetached(message, seed), publicKey), 'the new bytes sign');
    assert.throws(() => signDetached(message, seed.subarray(0, 31)), RangeError);
  });

  it('signs a one-off seed as tweetnacl does, leaving the seed given as it was', () => {
    const seed = generateSeed();
    const before = Uint8Array.from(seed);
    const text = new TextEncoder().encode('{"mxid":"@a:b","sender":"@c:d","token":"t"}');
    assert.deepEqual(
      signDetached(text, seed, { keep: false }),
      nacl.sign.detached(text, keyPairFromSeed(seed).secretKey),
    );
    assert.deepEqual(seed, before);
    assert.throws(() => signDetached(text, seed.subarray(0, 31), { keep: false }), RangeError);
  });
});

import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import nacl from 'tweetnacl';

export const SEED_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

/** `seed` is what we store and what the spec transfers (`private_key` in /sign-ed25519); the rest derives from it. */
export type Ed25519KeyPair = { publicKey: Uint8Array; secretKey: Uint8Array; seed: Uint8Array };

export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== SEED_LENGTH)
    throw new RangeError(`ed25519 seed must be ${SEED_LENGTH} bytes, not ${seed.length}`);
  const { publicKey, secretKey } = nacl.sign.keyPair.fromSeed(seed);
  return { publicKey, secretKey, seed: Uint8Array.from(seed) }; // a copy: the caller may wipe or reuse theirs
}

export function generateSeed(): Uint8Array {
  return nacl.randomBytes(SEED_LENGTH);
}

// RFC 8410's PKCS#8 wrapping of a raw ed25519 seed, for node:crypto.
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** The OpenSSL key of each seed array signed with lately, and the bytes it was made from. */
const privateKeys = new WeakMap<Uint8Array, { bytes: Buffer; key: KeyObject }>();

/**
 * Signs with the key the seed derives; taking the seed keeps one secret form across the API.
 * OpenSSL signs (ed25519 is deterministic: the same signature tweetnacl makes) in about 1/50 of
 * tweetnacl's time, which with the key derivation took 5-10 ms a signature here; the key object
 * is kept per seed array, as long as the array lives and holds the same bytes. `keep: false` (a
 * seed used once, as sign-ed25519's ephemeral seeds): no key object is kept, and the copies made
 * for OpenSSL are wiped before returning.
 */
export function signDetached(message: Uint8Array, seed: Uint8Array, { keep = true } = {}): Uint8Array {
  if (seed.length !== SEED_LENGTH)
    throw new RangeError(`ed25519 seed must be ${SEED_LENGTH} bytes, not ${seed.length}`);
  if (!keep) {
    const der = Buffer.concat([PKCS8_SEED_PREFIX, seed]);
    try {
      return new Uint8Array(sign(null, message, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })));
    } finally {
      der.fill(0);
    }
  }
  let cached = privateKeys.get(seed);
  if (cached === undefined || !cached.bytes.equals(seed)) {
    const bytes = Buffer.from(seed);
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, bytes]), format: 'der', type: 'pkcs8' });
    cached = { bytes, key };
    privateKeys.set(seed, cached);
  }
  return new Uint8Array(sign(null, message, cached.key));
}

/** False, never a throw, for a signature or key of the wrong size: both come from peers. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  return nacl.sign.detached.verify(message, signature, publicKey);
}

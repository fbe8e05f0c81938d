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

/** Signs with the key the seed derives; taking the seed keeps one secret form across the API. */
export function signDetached(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, keyPairFromSeed(seed).secretKey);
}

/** False, never a throw, for a signature or key of the wrong size: both come from peers. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  return nacl.sign.detached.verify(message, signature, publicKey);
}

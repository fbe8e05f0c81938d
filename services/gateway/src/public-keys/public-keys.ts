import type { KeyBook } from '@tessera/signing-keys';
import type { UnknownKeys } from './unknown-keys.js';

/** What the pubkey routes answer from. */
export interface PublicKeys {
  /** The public key (unpadded base64) of a valid key id; null when there is none or it was revoked. */
  publicKeyOf(keyId: string): Promise<string | null>;
  /** Whether `publicKey` is the key of a valid key id. */
  isValid(publicKey: string): boolean;
}

const SYDENT_KEY_ID = 'ed25519:0';

/**
 * The keys as the event stream tells them (the KeyBook): a revocation there is final (signing,
 * which follows the same stream, stops using the key as soon). Only a key id the stream has
 * never mentioned is asked of signing. isvalid never asks: signing announces every key on the
 * stream before it serves, so a public key the stream does not list as valid is not one signing
 * signs with, and a flood of random keys costs nothing but a set lookup.
 */
export function publicKeysOf(book: KeyBook, unknown: UnknownKeys): PublicKeys {
  return {
    async publicKeyOf(keyId) {
      const view = book.lookup(keyId);
      if (view !== undefined) return view.status === 'active' ? view.publicKey : null;
      const key = await unknown.lookup(keyId);
      if (key !== undefined) return key.valid ? key.publicKey : null;
      if (keyId !== SYDENT_KEY_ID) return null;
      // Sydent serves its only key at ed25519:0 whatever the key's version: a deployment imported
      // from Sydent with another version keeps that URL answering its (first) key.
      const first = book.firstAnnounced();
      return first?.status === 'active' ? first.publicKey : null;
    },
    isValid: (publicKey) => book.isValid(publicKey),
  };
}

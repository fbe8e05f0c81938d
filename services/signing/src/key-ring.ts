import { ConfigError } from '@tessera/config';
import { TemporarilyUnavailable } from '@tessera/errors';
import type { KeyStore, SigningKey } from './key-store.js';

export interface KeyEntry {
  readonly key: SigningKey;
  /** False once the key was revoked on the stream: kept, listed, but no longer used or vouched for. */
  readonly valid: boolean;
}

/** The keys the service answers with: the store's keys and whether each is still valid. */
export interface KeyRing {
  /** The key SignJson uses when the caller names none: the first valid key in the file; undefined once all are revoked. */
  readonly current: SigningKey | undefined;
  readonly entries: readonly KeyEntry[];
  get(keyId: string): KeyEntry | undefined;
  /** Stops using and vouching for a key revoked while the service runs; false when it was not a valid key of the ring. */
  revoke(keyId: string): boolean;
}

/**
 * Every key of the file is revoked: there is nothing left to sign with until an operator adds a
 * new key and restarts the service. A 503 (gRPC UNAVAILABLE) to callers, as any backend that cannot
 * serve; /readyz says why.
 */
export class NoValidSigningKey extends TemporarilyUnavailable {
  override readonly name = 'NoValidSigningKey';
  constructor() {
    super('every signing key is revoked: add a new key to the key file and restart signing');
  }
}

/**
 * `validIds`: the ids found valid on the stream at start; without a stream every key of the store
 * is valid. Refuses to start (ConfigError) when none is.
 */
export function keyRing(keyStore: KeyStore, validIds?: ReadonlySet<string>): KeyRing {
  const entries = keyStore.keys.map((key) => ({ key, valid: validIds === undefined || validIds.has(key.keyId) }));
  const byId = new Map(entries.map((entry) => [entry.key.keyId, entry]));
  let current = entries.find((entry) => entry.valid)?.key;
  if (current === undefined)
    throw new ConfigError(`signing key file ${keyStore.file}: every key in it is revoked; add a new key`);
  return {
    get current() {
      return current;
    },
    entries,
    get: (keyId) => byId.get(keyId),
    revoke(keyId) {
      const entry = byId.get(keyId);
      if (entry === undefined || !entry.valid) return false;
      // A revocation is final: nothing makes an entry valid again while the service runs.
      entry.valid = false;
      current = entries.find((other) => other.valid)?.key;
      return true;
    },
  };
}

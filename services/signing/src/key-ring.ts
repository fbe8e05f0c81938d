import { ConfigError } from '@tessera/config';
import type { KeyStore, SigningKey } from './key-store.js';

export interface KeyEntry {
  key: SigningKey;
  /** False once the key was revoked on the stream: kept, listed, but no longer used or vouched for. */
  valid: boolean;
}

/** The keys the service answers with: the store's keys and whether each is still valid. */
export interface KeyRing {
  /** The key SignJson uses when the caller names none: the first valid key in the file. */
  readonly current: SigningKey;
  readonly entries: readonly KeyEntry[];
  get(keyId: string): KeyEntry | undefined;
}

/** `validIds`: the ids found valid on the stream; without a stream every key of the store is valid. */
export function keyRing(keyStore: KeyStore, validIds?: ReadonlySet<string>): KeyRing {
  const entries = keyStore.keys.map((key) => ({ key, valid: validIds === undefined || validIds.has(key.keyId) }));
  const current = entries.find((entry) => entry.valid)?.key;
  if (current === undefined)
    throw new ConfigError(`signing key file ${keyStore.file}: every key in it is revoked; add a new key`);
  const byId = new Map(entries.map((entry) => [entry.key.keyId, entry]));
  return { current, entries, get: (keyId) => byId.get(keyId) };
}

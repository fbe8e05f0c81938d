import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { BoundedCache } from './bounded-cache.js';
import { type DataKey, newDataKey, openWithKey, sealingContext, sealWithKey } from './sealing.js';

/** Where data keys live: the `tessera_data_keys` bucket in production, a Map in unit tests. */
export interface DataKeySource {
  /**
   * The aggregate's key; `'erased'` when it was erased (the bucket keeps a marker); null when the
   * source holds nothing for it: never created, or not yet there on the stream replica that
   * answered (NATS 2.10 lets a replica that is catching up answer a direct get).
   */
  get(aggregate: string): Promise<DataKey | 'erased' | null>;
  /** Stores `key` unless the aggregate has a key already; returns the key that is stored. */
  create(aggregate: string, key: DataKey): Promise<DataKey>;
  /** Removes the aggregate's key for good. */
  erase(aggregate: string): Promise<void>;
}

export type DataKeysOptions = {
  cacheSize?: number;
  cacheTtlMs?: number;
  now?: () => number;
  /**
   * Waits before asking again for the key of a sealed value that the source says it never had:
   * the value proves the key was made, so only a replica behind the others can say that.
   */
  absentKeyRetriesMs?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
};

// About a second and a half in all: long enough for a restarted stream replica to catch up.
const ABSENT_KEY_RETRIES_MS = [50, 100, 200, 400, 800] as const;
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A key known to exist (a sealed value or a lost create race proves it was made), asked for again
 * after each pause while the source answers nothing, as a stream replica behind the others may;
 * null at once for an erase marker, or once the pauses are used up.
 */
export async function keyKnownToExist(
  get: () => Promise<DataKey | 'erased' | null>,
  pausesMs: readonly number[] = ABSENT_KEY_RETRIES_MS,
  sleep: (ms: number) => Promise<void> = wait,
): Promise<DataKey | null> {
  for (const pauseMs of [...pausesMs, null]) {
    const key = await get();
    if (key === 'erased') return null;
    if (key !== null) return key;
    if (pauseMs !== null) await sleep(pauseMs);
  }
  return null;
}

/**
 * Seals private fields with a data key per aggregate (AES-256-GCM), so that erasing the key
 * erases every sealed field of that aggregate in the stream (crypto-shredding).
 *
 * Keys are cached in memory. `erase` drops this process's entry, but another replica may still
 * hold the erased key in its cache until the entry expires: `cacheTtlMs` (60 s by default) bounds
 * how long an erased aggregate stays readable anywhere.
 */
export class DataKeys {
  readonly #source: DataKeySource;
  readonly #cache: BoundedCache<string, DataKey>;
  readonly #absentKeyRetriesMs: readonly number[];
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(
    source: DataKeySource,
    {
      cacheSize = 1_000,
      cacheTtlMs = 60_000,
      now,
      absentKeyRetriesMs = ABSENT_KEY_RETRIES_MS,
      sleep = wait,
    }: DataKeysOptions = {},
  ) {
    this.#source = source;
    this.#cache = new BoundedCache(cacheSize, cacheTtlMs, now);
    this.#absentKeyRetriesMs = absentKeyRetriesMs;
    this.#sleep = sleep;
  }

  async sealField(aggregate: string, fieldName: string, plaintext: Uint8Array | string): Promise<Sealed> {
    const context = sealingContext(aggregate, fieldName);
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    return sealWithKey(await this.#keyFor(aggregate), context, bytes);
  }

  /**
   * Makes the aggregate's key unless it has one, without looking for it first: for an aggregate
   * that has no events yet (most likely no key either), one request where sealField's first makes two.
   */
  async createKey(aggregate: string): Promise<void> {
    if (this.#cache.get(aggregate) !== undefined) return;
    this.#cache.set(aggregate, await this.#source.create(aggregate, newDataKey()));
  }

  /** The plaintext; null once the aggregate's key was erased. Throws when the value was tampered with. */
  async openField(aggregate: string, fieldName: string, sealed: Sealed): Promise<Uint8Array | null> {
    const context = sealingContext(aggregate, fieldName);
    const cached = this.#cache.get(aggregate);
    // A cached key with another id may be stale (erased and replaced elsewhere): ask the source.
    const key = cached?.keyId === sealed.keyId ? cached : await this.#fetchSealingKey(aggregate);
    // A different key id: the sealing key was erased and the aggregate has a new one since.
    if (key === null || key.keyId !== sealed.keyId) return null;
    return openWithKey(key, context, sealed);
  }

  async erase(aggregate: string): Promise<void> {
    this.#cache.delete(aggregate);
    await this.#source.erase(aggregate);
    this.#cache.delete(aggregate); // a seal that ran meanwhile may have cached it again
  }

  async #keyFor(aggregate: string): Promise<DataKey> {
    const known = this.#cache.get(aggregate) ?? (await this.#fetch(aggregate));
    if (known !== null) return known;
    // Created atomically: when two replicas race, both end up with the key that was stored first.
    const stored = await this.#source.create(aggregate, newDataKey());
    this.#cache.set(aggregate, stored);
    return stored;
  }

  async #fetch(aggregate: string): Promise<DataKey | null> {
    const key = await this.#source.get(aggregate);
    if (key === null || key === 'erased') return null;
    this.#cache.set(aggregate, key);
    return key;
  }

  /**
   * The key a sealed value was made with: an erased one is null at once, but one the source never
   * had is asked for again (see absentKeyRetriesMs) before the value is taken for unreadable.
   */
  async #fetchSealingKey(aggregate: string): Promise<DataKey | null> {
    const key = await keyKnownToExist(() => this.#source.get(aggregate), this.#absentKeyRetriesMs, this.#sleep);
    if (key !== null) this.#cache.set(aggregate, key);
    return key;
  }
}

import type { JetStreamManager, KV, NatsConnection } from 'nats';
import { type BucketOptions, bucketStreamOf } from './buckets.js';
import { type DataKeySource, keyKnownToExist } from './data-keys.js';
import { asStoreError, isWrongLastSequence } from './errors.js';
import { DATA_KEY_BYTES, type DataKey } from './sealing.js';
import { parseSubject, SUBJECT_PREFIX } from './subjects.js';

/**
 * The bucket of data keys. Only the services that seal or open reach it, each for the aggregate
 * types it needs (`$KV.tessera_data_keys.<type>.>` to create, direct gets of those subjects to
 * read); analytics may read the lasting stream, never this.
 */
export const DATA_KEY_BUCKET = 'tessera_data_keys';
const DATA_KEY_STREAM = bucketStreamOf(DATA_KEY_BUCKET);

/** History 1: an erased or replaced key leaves no older value behind; kept for ever otherwise. */
export const DATA_KEY_BUCKET_OPTIONS: Readonly<BucketOptions> = { history: 1 };

/**
 * Binds to the data-key bucket (provisioning creates it; a service never does) and returns it as a
 * key source for DataKeys. Reads go by direct get of the key's own subject, so permissions can
 * limit a service to the aggregate types it serves.
 */
export async function openDataKeySource(nc: NatsConnection): Promise<DataKeySource> {
  const js = nc.jetstream();
  const kv = await js.views.kv(DATA_KEY_BUCKET, { bindOnly: true, allow_direct: true });
  return new KvDataKeySource(kv, await js.jetstreamManager());
}

export class KvDataKeySource implements DataKeySource {
  constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
  ) {}

  async get(aggregate: string): Promise<DataKey | 'erased' | null> {
    try {
      const entry = await this.kv.get(kvKeyOf(aggregate));
      if (entry === null) return null;
      return entry.operation === 'PUT' ? decodeDataKey(entry.value) : 'erased';
    } catch (err) {
      throw asStoreError(err, `read the data key of ${aggregate}`);
    }
  }

  async create(aggregate: string, key: DataKey): Promise<DataKey> {
    try {
      await this.kv.create(kvKeyOf(aggregate), encodeDataKey(key));
      return key;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw asStoreError(err, `create the data key of ${aggregate}`);
      // Another replica created it first: use theirs (which the replica answering may not hold yet).
      const winner = await keyKnownToExist(() => this.get(aggregate));
      if (winner === null) throw new Error(`data key of ${aggregate} was erased while it was being created`);
      return winner;
    }
  }

  async erase(aggregate: string): Promise<void> {
    const kvKey = kvKeyOf(aggregate);
    try {
      const entry = await this.kv.get(kvKey);
      // A purge only unlinks the message in the file store; an erase overwrites it on disk first.
      if (entry?.operation === 'PUT')
        await this.jsm.streams.deleteMessage(DATA_KEY_STREAM, entry.revision, true).catch(async (err: unknown) => {
          // Another process erasing the same key (the notifier and a revocation) may get there
          // first; the server then answers with one code or another (10043 "sequence not found",
          // 10057 "no message found"). Whatever it says, what counts is whether the message is gone.
          if (await this.stillHolds(kvKey, entry.revision)) throw err;
        });
      await this.kv.purge(kvKey); // leaves a marker that also removes any key created meanwhile
    } catch (err) {
      throw asStoreError(err, `erase the data key of ${aggregate}`);
    }
  }

  /** Whether the bucket's value for `kvKey` is still the key stored at `revision`. */
  private async stillHolds(kvKey: string, revision: number): Promise<boolean> {
    const entry = await this.kv.get(kvKey);
    return entry?.operation === 'PUT' && entry.revision === revision;
  }
}

// KV keys allow only [-/_=.A-Za-z0-9]; aggregate ids may hold more (`key.ed25519:0`), so every
// other character becomes `=XX`, keeping the `<type>.` prefix readable.
export function kvKeyOf(aggregate: string): string {
  const { type, id } = parseSubject(`${SUBJECT_PREFIX}.${aggregate}`);
  const escaped = id.replace(
    /[^-A-Za-z0-9_]/g,
    (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `${type}.${escaped}`;
}

function encodeDataKey({ keyId, key }: DataKey): Uint8Array {
  return Buffer.from(JSON.stringify({ v: 1, keyId, key: Buffer.from(key).toString('base64') }));
}

/** A data key as the bucket stores it (also for a reader that follows the bucket's stream). */
export function decodeDataKey(value: Uint8Array): DataKey {
  const parsed: unknown = JSON.parse(Buffer.from(value).toString('utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'keyId' in parsed && 'key' in parsed) {
    const { keyId, key } = parsed;
    if (typeof keyId === 'string' && typeof key === 'string') {
      const bytes = Buffer.from(key, 'base64');
      if (bytes.length === DATA_KEY_BYTES) return { keyId, key: bytes };
    }
  }
  throw new Error('malformed data key in the data-key bucket');
}

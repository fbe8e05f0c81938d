import { type JetStreamClient, type JetStreamManager, nanos, StorageType, type StreamConfig } from 'nats';
import { streamConfig } from './streams.js';

export type BucketOptions = {
  /** Values kept per key; 1 keeps only the newest (an overwritten or purged value is gone). */
  history: number;
  /** How long a value lives; 0 or absent: for ever. */
  maxAgeMs?: number;
  replicas?: number;
};

export type EnsuredBucket = { name: string; action: 'created' | 'updated' | 'unchanged' };

/** The JetStream stream behind a key-value bucket. */
export const bucketStreamOf = (bucket: string) => `KV_${bucket}`;

/**
 * Creates the key-value bucket, or updates it where its history, age limit or replicas differ;
 * safe to run again. Provisioning runs it with an admin identity; services bind to buckets that
 * exist and never create them.
 */
export async function ensureBucket(
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
  { history, maxAgeMs = 0, replicas = 1 }: BucketOptions,
): Promise<EnsuredBucket> {
  const current = await streamConfig(jsm, bucketStreamOf(name));
  if (current === null) {
    // The client knows every setting that makes a stream a bucket (rollups, subjects, discard policy).
    await js.views.kv(name, {
      history,
      ttl: maxAgeMs,
      replicas,
      storage: StorageType.File,
      allow_direct: true, // reads by direct get, whose subject names the key: permissions can limit it
    });
    return { name, action: 'created' };
  }
  const wanted: Partial<StreamConfig> = {
    max_msgs_per_subject: history,
    max_age: nanos(maxAgeMs),
    num_replicas: replicas,
    allow_direct: true,
  };
  if (current.storage !== StorageType.File)
    throw new Error(`bucket ${name} uses ${current.storage} storage, which cannot be changed to file`);
  const differs = (Object.keys(wanted) as (keyof StreamConfig)[]).some((key) => current[key] !== wanted[key]);
  if (!differs) return { name, action: 'unchanged' };
  await jsm.streams.update(bucketStreamOf(name), { ...current, ...wanted });
  return { name, action: 'updated' };
}

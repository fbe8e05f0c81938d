import { type Config, loadConfig } from '@tessera/config';
import {
  DATA_KEY_BUCKET,
  DATA_KEY_BUCKET_OPTIONS,
  desiredStreams,
  ensureBucket,
  ensureStreams,
} from '@tessera/event-store';
import { RATE_LIMIT_BUCKET, rateLimitBucketOptions } from '@tessera/rate-limit';
import type { NatsConnection } from 'nats';

export type ProvisionSettings = {
  /** JetStream replicas of every stream and bucket (3 in a production cluster). */
  replicas: number;
  /** The longest rate-limit window: the rate-limit bucket keeps counters a bit longer. */
  longestRateLimitWindowMs: number;
};

export type Provisioned = { kind: 'stream' | 'bucket'; name: string; action: 'created' | 'updated' | 'unchanged' };

/** The settings provisioning takes from the shared configuration. */
export function provisionSettingsOf(config: Config): ProvisionSettings {
  const windows = [
    config.TESSERA_RATE_LIMIT_IP,
    config.TESSERA_RATE_LIMIT_USER,
    config.TESSERA_RATE_LIMIT_MSISDN,
    config.TESSERA_RATE_LIMIT_COUNTRY,
    config.TESSERA_RATE_LIMIT_INVITE_SENDER,
  ].map((limit) => limit.windowMs);
  return { replicas: config.TESSERA_NATS_REPLICAS, longestRateLimitWindowMs: Math.max(...windows) };
}

/**
 * Creates, or brings up to date, every stream and bucket Tessera uses: the two event streams (the
 * lasting one denying delete and purge), the data-key bucket and the rate-limit bucket. Needs the
 * admin identity; safe to run again (what is right is left alone). Services only check these exist.
 * Without settings, those of the default configuration (one replica, hour-long rate-limit windows).
 */
export async function provision(
  nc: NatsConnection,
  settings: ProvisionSettings = provisionSettingsOf(loadConfig({})),
): Promise<Provisioned[]> {
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const { replicas } = settings;
  desiredStreams({ replicas }); // a bad replica count fails before anything changes
  const streams = await ensureStreams(jsm, { replicas });
  const buckets = [
    await ensureBucket(js, jsm, DATA_KEY_BUCKET, { ...DATA_KEY_BUCKET_OPTIONS, replicas }),
    await ensureBucket(js, jsm, RATE_LIMIT_BUCKET, {
      ...rateLimitBucketOptions(settings.longestRateLimitWindowMs),
      replicas,
    }),
  ];
  return [
    ...streams.map(({ name, action }) => ({ kind: 'stream' as const, name, action })),
    ...buckets.map(({ name, action }) => ({ kind: 'bucket' as const, name, action })),
  ];
}

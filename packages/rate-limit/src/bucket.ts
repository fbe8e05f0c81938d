import { type KV, type NatsConnection, nanos, StorageType } from 'nats';

export const RATE_LIMIT_BUCKET = 'tessera_rate_limits';
const STREAM = `KV_${RATE_LIMIT_BUCKET}`;

// Replicas' clocks differ a little; a counter must outlive its window on every one of them.
const MAX_AGE_MARGIN_MS = 60_000;
const OPEN_ATTEMPTS = 3;

/**
 * Opens the shared bucket of counters, creating it if needed. One value per key (history 1), and
 * a max age a bit longer than the longest window, so old windows' counters expire by themselves.
 * An existing bucket with a shorter max age is raised (never lowered: another replica may use
 * longer windows), since a counter that expired inside its window would let a burst through.
 */
export async function openRateLimitBucket(nc: NatsConnection, longestWindowMs: number, replicas = 1): Promise<KV> {
  const maxAgeMs = longestWindowMs + MAX_AGE_MARGIN_MS;
  const js = nc.jetstream();
  for (let attempt = 1; ; attempt++) {
    try {
      const kv = await js.views.kv(RATE_LIMIT_BUCKET, {
        history: 1,
        ttl: maxAgeMs,
        storage: StorageType.File,
        replicas,
      });
      await raiseMaxAge(nc, maxAgeMs);
      return kv;
    } catch (err) {
      // Two replicas creating the bucket at once with different max ages: the loser opens the winner's.
      if (attempt >= OPEN_ATTEMPTS) throw err;
    }
  }
}

async function raiseMaxAge(nc: NatsConnection, maxAgeMs: number): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const { config } = await jsm.streams.info(STREAM);
  const wanted = nanos(maxAgeMs);
  if (config.max_age !== 0 && config.max_age < wanted) await jsm.streams.update(STREAM, { ...config, max_age: wanted });
}

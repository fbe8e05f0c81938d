import { type KV, type NatsConnection, nanos } from 'nats';

export const RATE_LIMIT_BUCKET = 'tessera_rate_limits';
const STREAM = `KV_${RATE_LIMIT_BUCKET}`;
const STREAM_NOT_FOUND = 10059; // JetStream API err_code

// Replicas' clocks differ a little; a counter must outlive its window on every one of them.
const MAX_AGE_MARGIN_MS = 60_000;

/**
 * The bucket provisioning makes: one value per key (history 1), and a max age a bit longer than the
 * longest window, so old windows' counters expire by themselves.
 */
export function rateLimitBucketOptions(longestWindowMs: number): { history: number; maxAgeMs: number } {
  return { history: 1, maxAgeMs: longestWindowMs + MAX_AGE_MARGIN_MS };
}

/** The bucket is missing, or keeps counters for less time than the limits' longest window. */
export class RateLimitBucketUnfit extends Error {
  override readonly name = 'RateLimitBucketUnfit';
}

/**
 * Binds to the shared bucket of counters, which provisioning made (a gateway never creates or
 * changes it). Refuses a bucket whose counters would expire inside a window: that would let a
 * burst through.
 */
export async function openRateLimitBucket(nc: NatsConnection, longestWindowMs: number): Promise<KV> {
  const needed = rateLimitBucketOptions(longestWindowMs).maxAgeMs;
  let maxAge: number;
  try {
    maxAge = (await (await nc.jetstreamManager()).streams.info(STREAM)).config.max_age;
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NOT_FOUND) throw err;
    throw new RateLimitBucketUnfit(
      `NATS has no bucket ${RATE_LIMIT_BUCKET}: provision it first (\`tessera provision\`)`,
    );
  }
  if (maxAge !== 0 && maxAge < nanos(needed))
    throw new RateLimitBucketUnfit(
      `bucket ${RATE_LIMIT_BUCKET} keeps counters ${Math.round(maxAge / 1e6)} ms, less than the longest rate-limit ` +
        `window needs (${needed} ms): provision again with these TESSERA_RATE_LIMIT_* settings`,
    );
  return nc.jetstream().views.kv(RATE_LIMIT_BUCKET, { bindOnly: true, allow_direct: true });
}

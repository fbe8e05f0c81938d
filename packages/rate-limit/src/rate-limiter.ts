import { setTimeout as sleep } from 'node:timers/promises';
import { type KV, type NatsConnection, NatsError } from 'nats';
import { openRateLimitBucket } from './bucket.js';
import { fixedWindow } from './fixed-window.js';
import { subjectDigester } from './subject-digest.js';

/** At most `count` events per fixed window of `windowMs`. */
export interface RateLimit {
  count: number;
  windowMs: number;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  /**
   * Counts one event of `subject` under `scope` (e.g. "ip", "msisdn") and tells whether it is
   * within the limit. A refused event is not counted, so a client that keeps trying is let in
   * again when the window ends.
   */
  consume(scope: string, subject: string, limit: RateLimit): Promise<RateLimitDecision>;
}

export interface RateLimiterOptions {
  /** HMAC key for the subjects' digests (see subject-digest.ts); unset: SHA-256. */
  secret?: Uint8Array;
  /** The clock, in milliseconds since the epoch (tests move it). */
  now?: () => number;
  /** The longest window any caller will pass; the bucket keeps counters this long. Default 24 h. */
  longestWindowMs?: number;
  /** JetStream replicas of the bucket when this limiter creates it. */
  replicas?: number;
}

const WRONG_LAST_SEQUENCE = 10071; // JetStream API err_code: the key moved on since it was read
const SCOPE = /^[A-Za-z0-9_-]{1,64}$/;
// Each conflict means another replica's increment went in, so the loop always makes progress;
// the bound only stops a pathological storm from holding a request for ever.
const MAX_ATTEMPTS = 200;
const DEFAULT_LONGEST_WINDOW_MS = 24 * 3_600_000;

/**
 * Fixed-window counters shared by every replica through a JetStream KV bucket. Increments are
 * compare-and-swap on the key's revision (create, then update at the revision read), retried on
 * a conflict, so concurrent replicas never lose or double a count.
 */
export async function createRateLimiter(nc: NatsConnection, options: RateLimiterOptions = {}): Promise<RateLimiter> {
  const { secret, now = Date.now, longestWindowMs = DEFAULT_LONGEST_WINDOW_MS, replicas } = options;
  const kv = await openRateLimitBucket(nc, longestWindowMs, replicas);
  const digest = subjectDigester(secret);

  return {
    async consume(scope, subject, { count, windowMs }) {
      if (!SCOPE.test(scope)) throw new RangeError(`rate limit scope must match ${SCOPE}`);
      if (windowMs > longestWindowMs) throw new RangeError(`window of ${windowMs} ms is longer than the bucket keeps`);
      const window = fixedWindow(now(), windowMs);
      const key = `${scope}.${window.index}.${digest(subject)}`;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const outcome = await tryIncrement(kv, key, count);
        if (outcome === 'counted') return { allowed: true };
        if (outcome === 'full') return { allowed: false, retryAfterMs: window.remainingMs };
        await sleep(Math.random() * Math.min(attempt, 10)); // spreads the retries of a burst
      }
      throw new Error(`rate limit counter ${scope}: too many concurrent updates`);
    },
  };
}

async function tryIncrement(kv: KV, key: string, count: number): Promise<'counted' | 'full' | 'conflict'> {
  const entry = await kv.get(key);
  const current = entry?.operation === 'PUT' ? Number(Buffer.from(entry.value).toString('ascii')) || 0 : 0;
  if (current >= count) return 'full';
  const next = new TextEncoder().encode(String(current + 1));
  try {
    if (entry === null || entry.operation !== 'PUT') await kv.create(key, next);
    else await kv.update(key, next, entry.revision);
    return 'counted';
  } catch (err) {
    if (err instanceof NatsError && err.api_error?.err_code === WRONG_LAST_SEQUENCE) return 'conflict';
    throw err;
  }
}

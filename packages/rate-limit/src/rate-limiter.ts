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
  /** The longest window any caller will pass; the bucket must keep counters this long. Default 24 h. */
  longestWindowMs?: number;
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
 *
 * Within one process, the events of one counter that arrive while its update is in flight wait
 * and go together in the next update, which adds as many of them as the limit still allows. So a
 * busy counter (one country's SMS, one homeserver's address on v1) costs one update at a time per
 * replica instead of a storm of conflicting ones (in the requestToken benchmark, one user with 96
 * requests in flight: 12.5 ms of the gateway's CPU per request and 3 % failed, against 1.1 ms and
 * none with the updates batched).
 */
export async function createRateLimiter(nc: NatsConnection, options: RateLimiterOptions = {}): Promise<RateLimiter> {
  const { secret, now = Date.now, longestWindowMs = DEFAULT_LONGEST_WINDOW_MS } = options;
  const kv = await openRateLimitBucket(nc, longestWindowMs);
  const digest = subjectDigester(secret);
  const lanes = new Map<string, Waiting[]>(); // by key: the events waiting for the update in flight

  const drain = async (key: string, count: number, waiting: Waiting[]) => {
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0);
        try {
          const added = await addUpTo(kv, key, batch.length, count);
          for (const [i, event] of batch.entries())
            event.resolve(i < added ? { allowed: true } : { allowed: false, retryAfterMs: event.retryAfterMs });
        } catch (err) {
          for (const event of batch) event.reject(err);
        }
      }
    } finally {
      lanes.delete(key);
    }
  };

  return {
    async consume(scope, subject, { count, windowMs }) {
      if (!SCOPE.test(scope)) throw new RangeError(`rate limit scope must match ${SCOPE}`);
      if (windowMs > longestWindowMs) throw new RangeError(`window of ${windowMs} ms is longer than the bucket keeps`);
      const window = fixedWindow(now(), windowMs);
      const key = `${scope}.${window.index}.${digest(subject)}`;
      return new Promise<RateLimitDecision>((resolve, reject) => {
        // The window's end as seen when the event came, like a refusal on its own would say.
        const event = { resolve, reject, retryAfterMs: window.remainingMs };
        const waiting = lanes.get(key);
        if (waiting !== undefined) waiting.push(event);
        else {
          const lane = [event];
          lanes.set(key, lane);
          void drain(key, count, lane);
        }
      });
    },
  };
}

type Waiting = {
  resolve: (decision: RateLimitDecision) => void;
  reject: (err: unknown) => void;
  retryAfterMs: number;
};

/** Adds up to `wanted` to the counter at `key` without passing `count`; returns how many it added. */
async function addUpTo(kv: KV, key: string, wanted: number, count: number): Promise<number> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get(key);
    const current = entry?.operation === 'PUT' ? Number(Buffer.from(entry.value).toString('ascii')) || 0 : 0;
    const added = Math.min(wanted, count - current);
    if (added <= 0) return 0;
    const next = new TextEncoder().encode(String(current + added));
    try {
      if (entry === null || entry.operation !== 'PUT') await kv.create(key, next);
      else await kv.update(key, next, entry.revision);
      return added;
    } catch (err) {
      if (!(err instanceof NatsError && err.api_error?.err_code === WRONG_LAST_SEQUENCE)) throw err;
      await sleep(Math.random() * Math.min(attempt, 10)); // another replica's update went in: read again
    }
  }
  throw new Error('rate limit counter: too many concurrent updates');
}

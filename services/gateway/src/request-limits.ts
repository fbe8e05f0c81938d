import { TemporarilyUnavailable, TesseraError } from '@tessera/errors';
import type { RateLimit, RateLimiter } from '@tessera/rate-limit';
import { createLogThrottle, type Logger } from '@tessera/service-kit';
import type { Response } from 'express';

/** What one request is counted under; each given key has its own limit (and its own counters). */
export interface RateLimitKeys {
  /** requestToken's and store-invite's v1 callers, by client IP address. */
  ip?: string;
  /** requestToken's v2 callers, by user id (a homeserver asks for many users from one address). */
  user?: string;
  /** requestToken by SMS: the normalised phone number, and the country it was given with. */
  msisdn?: string;
  country?: string;
  /** store-invite, by the inviting user (`sender`; on v2 the token's user), on both trees. */
  sender?: string;
}

export type RateLimits = Record<keyof RateLimitKeys, RateLimit>;

/**
 * Counts a request (requestToken, store-invite) before it reaches its service; throws 429
 * M_LIMIT_EXCEEDED when over a limit.
 */
export type RateLimitGate = (res: Response, keys: RateLimitKeys) => Promise<void>;

// Most specific first: a caller over its own limit does not use up the number's or country's.
const ORDER = ['ip', 'user', 'msisdn', 'country', 'sender'] as const;

/** No limiter (TESSERA_RATE_LIMITS=off): every request passes. */
export const noRateLimitGate: RateLimitGate = async () => {};

export function rateLimitGate(limiter: RateLimiter, limits: RateLimits, log: Logger): RateLimitGate {
  const exceeded = createLogThrottle(log); // a caller over its limit tends to keep trying
  return async (res, keys) => {
    for (const scope of ORDER) {
      const subject = keys[scope];
      if (subject === undefined || subject === '') continue;
      let decision: Awaited<ReturnType<RateLimiter['consume']>>;
      try {
        decision = await limiter.consume(scope, subject, limits[scope]);
      } catch (err) {
        // NATS unreachable or too slow: refuse (503) rather than let SMS and mail through uncounted.
        throw new TemporarilyUnavailable(`rate limit store (${scope}): ${(err as Error).name}`, { cause: err });
      }
      if (!decision.allowed) {
        exceeded.log('info', scope, { scope }, 'rate limit exceeded'); // the scope only: the subject is personal data
        res.set('Retry-After', String(Math.ceil(decision.retryAfterMs / 1000)));
        throw new TesseraError('M_LIMIT_EXCEEDED', 'too many requests; try again later', {
          extra: { retry_after_ms: decision.retryAfterMs },
        });
      }
    }
  };
}

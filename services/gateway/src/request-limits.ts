import { TemporarilyUnavailable, TesseraError } from '@tessera/errors';
import type { RateLimit, RateLimiter } from '@tessera/rate-limit';
import { createLogThrottle, type Logger } from '@tessera/service-kit';
import type { Response } from 'express';

/** What one requestToken is counted under; each given key has its own limit. */
export interface RequestTokenKeys {
  /** v1 callers, by client IP address. */
  ip?: string;
  /** v2 callers, by user id (a homeserver asks for many users from one address). */
  user?: string;
  /** SMS: the normalised phone number, and the country it was given with. */
  msisdn?: string;
  country?: string;
}

export type RequestTokenLimits = Record<keyof RequestTokenKeys, RateLimit>;

/** Counts a requestToken before it reaches the session service; throws 429 M_LIMIT_EXCEEDED when over a limit. */
export type RequestTokenGate = (res: Response, keys: RequestTokenKeys) => Promise<void>;

// Most specific first: a caller over its own limit does not use up the number's or country's.
const ORDER = ['ip', 'user', 'msisdn', 'country'] as const;

/** No limiter (TESSERA_RATE_LIMITS=off): every request passes. */
export const noRequestTokenGate: RequestTokenGate = async () => {};

export function requestTokenGate(limiter: RateLimiter, limits: RequestTokenLimits, log: Logger): RequestTokenGate {
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

export { openRateLimitBucket, RATE_LIMIT_BUCKET, RateLimitBucketUnfit, rateLimitBucketOptions } from './bucket.js';
export { type FixedWindow, fixedWindow } from './fixed-window.js';
export {
  createRateLimiter,
  type RateLimit,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterOptions,
} from './rate-limiter.js';
export { subjectDigester } from './subject-digest.js';

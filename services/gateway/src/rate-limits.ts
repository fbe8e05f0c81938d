import { type Config, ConfigError } from '@tessera/config';
import { createRateLimiter, RateLimitBucketUnfit } from '@tessera/rate-limit';
import { purposeKey, readServerSecret } from '@tessera/server-secret';
import type { Logger } from '@tessera/service-kit';
import type { NatsConnection } from 'nats';
import { noRateLimitGate, type RateLimitGate, type RateLimits, rateLimitGate } from './request-limits.js';

/** The key of the counters' digests, from TESSERA_SECRET_KEY_FILE; none (plain digests) when unset or limits are off. */
export async function readRateLimitSecret(config: Config): Promise<Uint8Array | undefined> {
  if (config.TESSERA_RATE_LIMITS === 'off' || config.TESSERA_SECRET_KEY_FILE === undefined) return undefined;
  return purposeKey(await readServerSecret(config.TESSERA_SECRET_KEY_FILE), 'rate-limit');
}

/**
 * The rate limits of the configuration (requestToken's, store-invite's), counted in NATS (`nc`) while they are on, so
 * that every replica shares them.
 */
export async function startRateLimits(
  config: Config,
  nc: NatsConnection,
  secret: Uint8Array | undefined,
  log: Logger,
): Promise<RateLimitGate> {
  if (config.TESSERA_RATE_LIMITS === 'off') return noRateLimitGate;
  const limits: RateLimits = {
    ip: config.TESSERA_RATE_LIMIT_IP,
    user: config.TESSERA_RATE_LIMIT_USER,
    msisdn: config.TESSERA_RATE_LIMIT_MSISDN,
    country: config.TESSERA_RATE_LIMIT_COUNTRY,
    sender: config.TESSERA_RATE_LIMIT_INVITE_SENDER,
  };
  const longestWindowMs = Math.max(...Object.values(limits).map((limit) => limit.windowMs));
  try {
    const limiter = await createRateLimiter(nc, { ...(secret ? { secret } : {}), longestWindowMs });
    log.info({ keyed: secret !== undefined }, 'rate limits shared through NATS');
    return rateLimitGate(limiter, limits, log);
  } catch (err) {
    // Restarting will not lengthen the bucket's age limit: the operator has to provision again.
    if (err instanceof RateLimitBucketUnfit) throw new ConfigError(`TESSERA_RATE_LIMIT_*: ${err.message}`);
    throw err;
  }
}

import { type Config, ConfigError } from '@tessera/config';
import { connectAs, natsAccessOf, natsReadiness } from '@tessera/nats-access';
import { createRateLimiter, RateLimitBucketUnfit } from '@tessera/rate-limit';
import type { Logger, ReadinessCheck } from '@tessera/service-kit';
import {
  noRequestTokenGate,
  type RequestTokenGate,
  type RequestTokenLimits,
  requestTokenGate,
} from './request-limits.js';
import { purposeKey, readServerSecret } from './server-secret.js';

export interface RunningRateLimits {
  gate: RequestTokenGate;
  /** What the limits need to work: the NATS connection, when they are on. */
  readiness: ReadinessCheck[];
  close(): Promise<void>;
}

/**
 * The requestToken rate limits from the configuration. They are counted in NATS so that every
 * gateway replica shares them; TESSERA_RATE_LIMITS=off (tests) skips them and NATS altogether.
 */
export async function startRateLimits(config: Config, log: Logger): Promise<RunningRateLimits> {
  if (config.TESSERA_RATE_LIMITS === 'off') return { gate: noRequestTokenGate, readiness: [], close: async () => {} };
  const nats = natsAccessOf(config, 'gateway', 'while TESSERA_RATE_LIMITS is on (the limits are kept in NATS)');
  const limits: RequestTokenLimits = {
    ip: config.TESSERA_RATE_LIMIT_IP,
    user: config.TESSERA_RATE_LIMIT_USER,
    msisdn: config.TESSERA_RATE_LIMIT_MSISDN,
    country: config.TESSERA_RATE_LIMIT_COUNTRY,
  };
  const secret = config.TESSERA_SECRET_KEY_FILE
    ? purposeKey(await readServerSecret(config.TESSERA_SECRET_KEY_FILE), 'rate-limit')
    : undefined;
  const nc = await connectAs(nats, log);
  try {
    const longestWindowMs = Math.max(...Object.values(limits).map((limit) => limit.windowMs));
    const limiter = await createRateLimiter(nc, { ...(secret ? { secret } : {}), longestWindowMs });
    log.info({ keyed: secret !== undefined }, 'rate limits shared through NATS');
    return {
      gate: requestTokenGate(limiter, limits, log),
      readiness: [natsReadiness(nc)],
      close: () => nc.drain(),
    };
  } catch (err) {
    await nc.close();
    // Restarting will not lengthen the bucket's age limit: the operator has to provision again.
    if (err instanceof RateLimitBucketUnfit) throw new ConfigError(`TESSERA_RATE_LIMIT_*: ${err.message}`);
    throw err;
  }
}

import { hostname } from 'node:os';
import { type Config, ConfigError } from '@tessera/config';
import { connectNats, inboxPrefixOf, type Logger, redactUrl } from '@tessera/event-store';
import { type Authenticator, ErrorCode, type NatsConnection, NatsError } from 'nats';
import { requireProvisioned } from './check-provisioned.js';
import { CredentialsUnusable, readCredentialsFile } from './credentials.js';
import type { ServiceIdentity } from './identities.js';

/**
 * Connects a service to NATS as its own identity (TESSERA_NATS_URL, TESSERA_NATS_CREDENTIALS_FILE),
 * with its own reply prefix, and checks that the streams and buckets it needs exist. Settings that
 * cannot work stop the start with a ConfigError naming the key.
 */
export async function connectAs(config: Config, identity: ServiceIdentity, log: Logger): Promise<NatsConnection> {
  const authenticator = natsCredentials(config, identity);
  const url = config.TESSERA_NATS_URL;
  if (url === undefined) throw new ConfigError(`TESSERA_NATS_URL: required by ${identity}`);
  let nc: NatsConnection;
  try {
    nc = await connectNats({
      url,
      name: `tessera-${identity}@${hostname()}`,
      inboxPrefix: inboxPrefixOf(identity),
      ...(authenticator && { authenticator }),
      log,
    });
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.AuthorizationViolation)
      throw new ConfigError(
        `TESSERA_NATS_CREDENTIALS_FILE: ${redactUrl(url)} refused ${authenticator ? 'these credentials' : 'a connection without credentials'} for ${identity}`,
      );
    throw err;
  }
  try {
    await requireProvisioned(await nc.jetstreamManager(), identity);
  } catch (err) {
    await nc.close();
    throw err;
  }
  return nc;
}

/** The authenticator of TESSERA_NATS_CREDENTIALS_FILE; none when unset (a server without auth). */
export function natsCredentials(config: Config, identity: string): Authenticator | undefined {
  const file = config.TESSERA_NATS_CREDENTIALS_FILE;
  if (file === undefined) return undefined;
  try {
    return readCredentialsFile(file);
  } catch (err) {
    if (err instanceof CredentialsUnusable)
      throw new ConfigError(`TESSERA_NATS_CREDENTIALS_FILE: ${err.message} (the ${identity} identity's credentials)`);
    throw err;
  }
}

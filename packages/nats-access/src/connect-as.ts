import { hostname } from 'node:os';
import { type Config, ConfigError } from '@tessera/config';
import { connectNats, inboxPrefixOf, type Logger, redactUrl } from '@tessera/event-store';
import { type Authenticator, ErrorCode, type NatsConnection, NatsError } from 'nats';
import { requireProvisioned } from './check-provisioned.js';
import { CredentialsUnusable, readCredentialsFile } from './credentials.js';
import type { ServiceIdentity } from './identities.js';

/** How one service reaches NATS: checked settings, nothing opened yet. */
export type NatsAccess = { identity: ServiceIdentity; url: string; authenticator: Authenticator | undefined };

/**
 * TESSERA_NATS_URL and TESSERA_NATS_CREDENTIALS_FILE for `identity`, checked before anything
 * opens: a missing URL or unusable credentials stop the start with a ConfigError naming the key
 * (`why` completes "required …").
 */
export function natsAccessOf(config: Config, identity: ServiceIdentity, why = `by ${identity}`): NatsAccess {
  const url = config.TESSERA_NATS_URL;
  if (url === undefined) throw new ConfigError(`TESSERA_NATS_URL: required ${why}`);
  return { identity, url, authenticator: natsCredentials(config, identity) };
}

/**
 * Connects as the service's own identity, with its own reply prefix, and checks (never creates)
 * that the streams and buckets it needs exist.
 */
export async function connectAs({ identity, url, authenticator }: NatsAccess, log: Logger): Promise<NatsConnection> {
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
        `TESSERA_NATS_CREDENTIALS_FILE: ${redactUrl(url)} refused ` +
          `${authenticator ? `the credentials given to ${identity}` : `${identity}, which has no credentials`}`,
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

import type { Config } from '@tessera/config';
import { connectAs, type NatsAccess, natsAccessOf, natsReadiness, type ServiceIdentity } from '@tessera/nats-access';
import type { NatsConnection } from 'nats';
import type { Logger } from './logger.js';
import type { ReadinessCheck } from './readiness.js';

/**
 * A backend the service skeleton connects for a service: its settings are checked with every
 * other setting before anything opens, it is connected once the admin port is up, /readyz checks
 * it, and it is closed after the service's own resources, before the admin port. NATS is the
 * first; a database pool is another of the same shape (a `database` entry in ServiceSpec, a
 * `db` in ServiceContext).
 */
export interface Backend<Settings, Connection> {
  /** The name of its shutdown step. */
  name: string;
  /** Reads and checks its settings, opening nothing; throws ConfigError naming the key. */
  check(config: Config): Settings;
  connect(settings: Settings, log: Logger): Promise<Connection>;
  readiness(connection: Connection): ReadinessCheck;
  close(connection: Connection): Promise<void>;
}

/**
 * NATS as `identity` (its own credentials and reply prefix), checking (never creating) the
 * streams and buckets its grants name. `why` completes "TESSERA_NATS_URL: required …".
 */
export function natsBackend(identity: ServiceIdentity, why?: string): Backend<NatsAccess, NatsConnection> {
  return {
    name: 'NATS',
    check: (config) => natsAccessOf(config, identity, why),
    connect: (access, log) => connectAs(access, log),
    readiness: natsReadiness,
    close: (nc) => nc.drain(),
  };
}

import type { Config } from '@tessera/config';
import {
  type Database,
  type DatabaseReadiness,
  type DatabaseSettings,
  databaseSettingsOf,
  migrateToLatest,
  openDatabase,
  watchDatabase,
} from '@tessera/db';
import { connectAs, type NatsAccess, natsAccessOf, natsReadiness, type ServiceIdentity } from '@tessera/nats-access';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import type { Logger } from './logger.js';
import type { ReadinessCheck } from './readiness.js';

/**
 * A backend the service skeleton connects for a service: its settings are checked with every
 * other setting before anything opens, it is connected once the admin port is up, /readyz checks
 * it, and it is closed after the service's own resources, before the admin port. NATS is the
 * first, PostgreSQL the second (a `database` entry in ServiceSpec, a `db` in ServiceContext).
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
    // Until closed() has settled: everything in flight was sent or given up before the next step.
    close: async (nc) => {
      await nc.drain();
      await nc.closed();
    },
  };
}

/** A pool and the background probe that /readyz reads. */
export type OpenDatabase = { db: Kysely<Database>; health: DatabaseReadiness };

/**
 * PostgreSQL through a pool of TESSERA_DATABASE_POOL_SIZE connections; with `migrate`, the schema
 * is brought to the newest migration before the service's wiring runs (the projector: the one
 * service that writes the read model), and a failed migration stops the start naming it. `why`
 * completes "TESSERA_DATABASE_URL: required …".
 */
export function databaseBackend(why: string, migrate: boolean): Backend<DatabaseSettings, OpenDatabase> {
  return {
    name: 'PostgreSQL',
    check: (config) => databaseSettingsOf(config, why),
    connect: async (settings, log) => {
      const db = await openDatabase(settings, log);
      try {
        if (migrate) await migrateToLatest(db, log);
      } catch (err) {
        await db.destroy();
        throw err;
      }
      return { db, health: watchDatabase(db, log) };
    },
    readiness: ({ health }) => health,
    close: async ({ db, health }) => {
      health.close();
      await db.destroy(); // lets the queries under way finish
    },
  };
}

import type { Config } from '@tessera/config';
import type { Database } from '@tessera/db';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { metricsListenAddress, type ServiceName } from './addresses.js';
import { startAdminServer } from './admin-server.js';
import { databaseBackend, natsBackend } from './backends.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { notStarted, type ReadinessCheck, type ReadinessReport, readinessOf } from './readiness.js';
import { runShutdownSteps, type ShutdownPlan, type ShutdownStep } from './shutdown.js';
import { readTlsFiles, requireTlsFiles, type TlsFiles } from './tls.js';

/**
 * Whether a service connects to NATS (as its own identity, the service's name): always, or only
 * with some settings: then a function that says why it needs NATS with these settings
 * (completing "TESSERA_NATS_URL: required …"), or false when it does not.
 */
export type NatsNeed = true | ((config: Config) => string | false);

/** `nc` in the context: a connection when NATS is always needed, possibly none when it depends. */
export type NatsConnectionOf<N> = N extends true
  ? NatsConnection
  : N extends (config: Config) => string | false
    ? NatsConnection | undefined
    : undefined;

/**
 * Whether a service reads the PostgreSQL read model: `true`, or `{ migrate: true }` for the one
 * service that brings its schema up to date at start (the projector).
 */
export type DatabaseNeed = true | { migrate: boolean };

/** `db` in the context: the typed pool when the service needs the database. */
export type DatabaseOf<D> = D extends DatabaseNeed ? Kysely<Database> : undefined;

/** What a service's own wiring is given. */
export interface ServiceContext<Settings = undefined, Nats = undefined, Db = undefined> {
  config: Config;
  log: Logger;
  /** The process's registry, with the kit's gRPC metrics; served on /metrics. */
  metrics: Metrics;
  /** What the spec's `settings` returned. */
  settings: Settings;
  /** TESSERA_TLS_*: always there for a service that serves gRPC; for others null when unset. */
  tls: TlsFiles | null;
  /** Its NATS connection, with what its identity needs in JetStream checked. */
  nc: Nats;
  /** Its PostgreSQL pool (closed after what it opened, before NATS drains). */
  db: Db;
  /** More for /readyz to check, after the backends: a consumer, a backend of its own. */
  addReadiness(...checks: ReadinessCheck[]): void;
  /** The shutdown step of something it opened: run once what it serves has stopped, before NATS drains. */
  onStop(step: ShutdownStep): void;
}

export interface ServiceSpec<Settings, N extends NatsNeed | undefined, D extends DatabaseNeed | undefined = undefined> {
  /** NATS as the service's own identity. */
  nats?: N;
  /** The PostgreSQL read model (TESSERA_DATABASE_URL). */
  database?: D;
  /** It serves gRPC: mutual TLS only, so the TESSERA_TLS_* files are required. */
  servesGrpc?: boolean;
  /**
   * Its own settings and files, read and checked before anything opens; a bad one throws a
   * ConfigError naming its key. Runs after the TLS files and NATS settings are checked.
   */
  settings?: (config: Config, log: Logger) => Settings | Promise<Settings>;
  /**
   * Its own wiring. Returns the shutdown step of what it serves (its gRPC or HTTP server, its
   * consumer), which runs first; everything else it opens is given to `onStop`.
   */
  start(context: ServiceContext<Settings, NatsConnectionOf<N>, DatabaseOf<D>>): Promise<ShutdownStep>;
}

export interface RunningService {
  adminPort: number;
  /** What /readyz answers. */
  readiness(): ReadinessReport;
}

export interface StartServiceOptions {
  config: Config;
  log: Logger;
  /** Where each step is registered as soon as its resource is open: a signal handler may run them. */
  shutdown: ShutdownPlan;
}

/**
 * Starts one service: checks every setting (TLS files, NATS, the database, the service's own)
 * before anything opens, then opens the admin port (metrics, /healthz, /readyz), connects NATS,
 * then PostgreSQL (migrating it when asked), runs the service's wiring, and registers each
 * shutdown step as it goes. /readyz says `starting` until the
 * wiring is done, then checks the backends and what the service added. A start that fails runs
 * the steps registered so far, then throws.
 */
export async function startService<
  Settings = undefined,
  N extends NatsNeed | undefined = undefined,
  D extends DatabaseNeed | undefined = undefined,
>(
  name: ServiceName,
  spec: ServiceSpec<Settings, N, D>,
  { config, log, shutdown }: StartServiceOptions,
): Promise<RunningService> {
  const tls = spec.servesGrpc ? requireTlsFiles(config, name, log) : readTlsFiles(config, log);
  const nats = natsOf(name, spec.nats, config);
  const database = databaseOf(name, spec.database, config);
  const settings = (spec.settings ? await spec.settings(config, log) : undefined) as Settings;

  const metrics = createMetrics(name);
  let readiness: () => ReadinessReport = notStarted;
  const admin = await startAdminServer(metricsListenAddress(config, name), metrics.registry, () => readiness());
  shutdown.add('admin', { name: 'admin server', run: () => admin.close() });
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  try {
    const checks: ReadinessCheck[] = [];
    let nc: NatsConnection | undefined;
    if (nats !== undefined) {
      const connection = await nats.backend.connect(nats.settings, log);
      nc = connection;
      shutdown.add('backend', { name: nats.backend.name, run: () => nats.backend.close(connection) });
      checks.push(nats.backend.readiness(connection));
    }
    // After NATS, so closed before it (newest first): work still holding a connection when the
    // service's own steps are done finishes its statement and can still ack or append on NATS;
    // a message the drain hands over that needs the database fails unacked and comes again.
    let db: Kysely<Database> | undefined;
    if (database !== undefined) {
      const open = await database.backend.connect(database.settings, log);
      db = open.db;
      shutdown.add('backend', { name: database.backend.name, run: () => database.backend.close(open) });
      checks.push(database.backend.readiness(open));
    }
    const serving = await spec.start({
      config,
      log,
      metrics,
      settings,
      tls,
      nc: nc as NatsConnectionOf<N>,
      db: db as DatabaseOf<D>,
      addReadiness: (...more) => checks.push(...more),
      onStop: (step) => shutdown.add('resource', step),
    });
    shutdown.add('serving', serving);
    readiness = readinessOf(checks);
  } catch (err) {
    await runShutdownSteps(log, shutdown.steps());
    throw err;
  }
  return { adminPort: admin.port, readiness: () => readiness() };
}

/** The NATS backend with its settings checked, when this service needs NATS with this configuration. */
function natsOf(name: ServiceName, need: NatsNeed | undefined, config: Config) {
  if (need === undefined) return undefined;
  const why = need === true ? undefined : need(config);
  if (why === false) return undefined;
  const backend = natsBackend(name, why);
  return { backend, settings: backend.check(config) };
}

/** The database backend with its settings checked, when the service needs the database. */
function databaseOf(name: ServiceName, need: DatabaseNeed | undefined, config: Config) {
  if (need === undefined) return undefined;
  const backend = databaseBackend(`by ${name}`, need !== true && need.migrate);
  return { backend, settings: backend.check(config) };
}

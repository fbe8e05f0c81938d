// Shared by this package's tests and benchmark; not exported from the package.
import { EventStore, ensureStreams, newEvent } from '@tessera/event-store';
import { startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import { connect, type NatsConnection } from 'nats';
import { migrateToLatest } from '../src/migrate.js';
import { openDatabase } from '../src/open-database.js';
import type { ProjectedMessage, Projection } from '../src/projection/projection.js';
import type { ProjectionRunnerOptions } from '../src/projection/runner.js';
import type { Database } from '../src/schema.js';

export const STREAM = 'TESSERA_EVENTS';
const AT = new Date('2026-01-15T10:00:00Z');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

export { quiet as silentLog };

export async function migratedDatabase(pg: TestPostgres, poolSize = 10): Promise<Kysely<Database>> {
  const db = await openDatabase({ url: pg.url, poolSize }, quiet);
  await migrateToLatest(db, quiet);
  return db;
}

/** A fresh nats-server with the streams as provisioning makes them, and a connection to it. */
export async function natsWithStreams(): Promise<{ nats: TestNats; nc: NatsConnection }> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  await ensureStreams(await nc.jetstreamManager());
  return { nats, nc };
}

export { startPostgres, type TestPostgres };

/**
 * Appends `count` decisions to TESSERA_EVENTS, one event each on its own key subject: KeyRevoked
 * with reason `<prefix>-<i>`, or KeyCreated for the indexes `created` picks. At most 64 in flight.
 */
export async function appendEvents(
  nc: NatsConnection,
  count: number,
  { prefix = 'r', created = () => false }: { prefix?: string; created?: (i: number) => boolean } = {},
): Promise<void> {
  const store = new EventStore(nc);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(64, count) }, async () => {
      while (next < count) {
        const i = next++;
        const keyId = `ed25519:${prefix}${i}`;
        const event = created(i)
          ? newEvent({ $case: 'keyCreated', value: { keyId, algorithm: 'ed25519', publicKey: 'cHVibGlj' } }, AT)
          : newEvent({ $case: 'keyRevoked', value: { keyId, reason: `${prefix}-${i}` } }, AT);
        await store.append(`tessera.key.${prefix}${i}`, [event], { expectedSeq: 0, correlationId: 'test' });
      }
    }),
  );
}

export type ProjectedRow = { seq: string; subject: string; event_type: string; reason: string; applied: string };

/** The table a test projection writes: one row per message, `applied` counting up in the order of the inserts. */
export async function createProjectedTable(db: Kysely<Database>, table: string): Promise<void> {
  await sql`create table ${sql.table(table)} (
    seq bigint primary key, subject text not null, event_type text not null, reason text not null,
    applied bigint generated always as identity)`.execute(db);
}

/** A projection writing one row per message of the batch, with one insert; `seen` hears each batch first. */
export function rowsProjection(
  table: string,
  seen: (batch: readonly ProjectedMessage[]) => void | Promise<void> = () => {},
  eventTypes?: readonly string[],
): Projection {
  return {
    name: table,
    tables: [table],
    ...(eventTypes && { eventTypes }),
    async project(batch, trx) {
      await seen(batch);
      const rows = batch.map((msg) => {
        const event = msg.envelope.events[0];
        const reason = event?.payload?.$case === 'keyRevoked' ? event.payload.value.reason : '';
        return sql`(${msg.seq}, ${msg.subject}, ${msg.eventTypes.join(',')}, ${reason})`;
      });
      await sql`insert into ${sql.table(table)} (seq, subject, event_type, reason) values ${sql.join(rows)}`.execute(
        trx,
      );
    },
  };
}

export async function rowsOf(db: Kysely<Database>, table: string): Promise<ProjectedRow[]> {
  const { rows } = await sql<ProjectedRow>`select * from ${sql.table(table)} order by applied`.execute(db);
  return rows;
}

export async function checkpointRow(db: Kysely<Database>, projection: string) {
  return db.selectFrom('projector_checkpoint').selectAll().where('projection', '=', projection).executeTakeFirst();
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A runner of `rowsProjection(table)` on TESSERA_EVENTS, its durable named after the table. */
export const rowsRunnerOptions = (
  nc: NatsConnection,
  db: Kysely<Database>,
  table: string,
): ProjectionRunnerOptions<Database> => ({
  nc,
  db,
  stream: STREAM,
  durable: table,
  projection: rowsProjection(table),
  log: quiet,
});

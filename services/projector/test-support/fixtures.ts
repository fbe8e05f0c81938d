// Shared by the projector's tests and benchmark.
import { type Database, migrateToLatest, openDatabase } from '@tessera/db';
import { silentLogger } from '@tessera/event-store';
import type { TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';

export async function migratedDatabase(pg: TestPostgres, poolSize = 4): Promise<Kysely<Database>> {
  const db = await openDatabase({ url: pg.url, poolSize }, silentLogger);
  await migrateToLatest(db, silentLogger);
  return db;
}

/** The read model's tables in a stable order, to compare two builds of it. */
export async function readModel(db: Kysely<Database>) {
  const associations = await db.selectFrom('association').selectAll().orderBy('addr_key').execute();
  const peppers = await db.selectFrom('lookup_pepper').selectAll().orderBy('pepper_id').execute();
  const hashes = await db.selectFrom('lookup_hash').selectAll().orderBy('pepper_id').orderBy('hash').execute();
  const invites = await db.selectFrom('invite').selectAll().orderBy('invite_id').execute();
  const onbinds = await db.selectFrom('onbind').selectAll().orderBy('onbind_id').execute();
  return { associations, peppers, hashes, invites, onbinds };
}

export async function countOf(
  db: Kysely<Database>,
  table: 'association' | 'lookup_hash' | 'lookup_pepper' | 'invite' | 'onbind',
) {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.n);
}

export async function checkpointOf(db: Kysely<Database>, projection: string): Promise<number> {
  const row = await db
    .selectFrom('projector_checkpoint')
    .select('last_seq')
    .where('projection', '=', projection)
    .executeTakeFirst();
  return Number(row?.last_seq ?? 0);
}

export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

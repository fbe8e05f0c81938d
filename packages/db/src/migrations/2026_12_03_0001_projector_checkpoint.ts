import { type Kysely, sql } from 'kysely';

// Frozen in time: takes Kysely<any>, never the Database interface, which moves on.
// biome-ignore lint/suspicious/noExplicitAny: a migration is frozen in time; the Database type moves on
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('projector_checkpoint')
    .addColumn('projection', 'text', (c) => c.primaryKey())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`last_seq >= 0`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as up
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('projector_checkpoint').execute();
}

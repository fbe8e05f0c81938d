import type { Kysely } from 'kysely';

// Ephemeral public keys imported from Sydent (EphemeralKeysImported): valid for good, linked to no
// invite. In the associations projection with the invites, under the same checkpoint.

// biome-ignore lint/suspicious/noExplicitAny: a migration is frozen in time; the Database type moves on
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('imported_ephemeral_key')
    .addColumn('public_key', 'text', (c) => c.primaryKey())
    .addColumn('imported_seq', 'bigint', (c) => c.notNull())
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as up
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('imported_ephemeral_key').execute();
}

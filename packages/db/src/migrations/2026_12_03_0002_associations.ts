import { type Kysely, sql } from 'kysely';

// The directory's read model: one row per bound 3PID, and the v2 hashed index of each live pepper.

// biome-ignore lint/suspicious/noExplicitAny: a migration is frozen in time; the Database type moves on
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('association')
    .addColumn('addr_key', 'text', (c) => c.primaryKey())
    .addColumn('medium', 'text', (c) => c.notNull().check(sql`medium in ('email', 'msisdn')`))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('mxid', 'text', (c) => c.notNull())
    .addColumn('binding_id', 'text', (c) => c.notNull())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('association_json', 'text', (c) => c.notNull())
    .addColumn('lookup_forms', sql`text[]`, (c) => c.notNull())
    .addColumn('bound_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('association_mxid').on('association').column('mxid').execute();

  await db.schema
    .createTable('lookup_pepper')
    .addColumn('pepper_id', 'text', (c) => c.primaryKey())
    .addColumn('pepper', 'text', (c) => c.notNull().unique())
    .addColumn('created_seq', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('lookup_hash')
    .addColumn('pepper_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('addr_key', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lookup_hash_pkey', ['pepper_id', 'hash'])
    .execute();
  await db.schema.createIndex('lookup_hash_addr_key').on('lookup_hash').column('addr_key').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as up
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lookup_hash').execute();
  await db.schema.dropTable('lookup_pepper').execute();
  await db.schema.dropTable('association').execute();
}

import { type Kysely, sql } from 'kysely';

// The invites' read model: one row per stored invite (pending until an onbind call claims it), and
// one per onbind call with its progress. Written by the same projection as the associations, so
// that one checkpoint says both are applied up to a sequence.

// biome-ignore lint/suspicious/noExplicitAny: a migration is frozen in time; the Database type moves on
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invite')
    .addColumn('invite_id', 'text', (c) => c.primaryKey())
    .addColumn('medium', 'text', (c) => c.notNull().check(sql`medium in ('email', 'msisdn')`))
    .addColumn('addr_key', 'text', (c) => c.notNull())
    .addColumn('sender_key', 'text', (c) => c.notNull())
    .addColumn('ephemeral_public_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'claimed', 'delivered', 'abandoned', 'revoked')`),
    )
    .addColumn('onbind_id', 'text')
    .addColumn('stored_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('stored_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('invite_pending_addr_key')
    .on('invite')
    .column('addr_key')
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema.createIndex('invite_ephemeral_public_key').on('invite').column('ephemeral_public_key').execute();
  await db.schema.createIndex('invite_onbind_id').on('invite').column('onbind_id').execute();

  await db.schema
    .createTable('onbind')
    .addColumn('onbind_id', 'text', (c) => c.primaryKey())
    .addColumn('addr_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('requested', 'delivered', 'abandoned')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('give_up_at', 'timestamptz', (c) => c.notNull())
    .addColumn('requested_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('onbind_requested_at')
    .on('onbind')
    .column('requested_at')
    .where(sql.ref('status'), '=', 'requested')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as up
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('onbind').execute();
  await db.schema.dropTable('invite').execute();
}

import { type Kysely, sql, type Transaction } from 'kysely';
import { PROJECTED_CHANNEL } from '../projected.js';
import type { Database } from '../schema.js';
import type { Projection } from './projection.js';

/** The projection's checkpoint row belongs to another stream: it would skip or repeat messages. */
export class CheckpointStreamMismatch extends Error {
  override readonly name = 'CheckpointStreamMismatch';
}

/** Creates the projection's checkpoint row (at 0) if it has none; answers its last applied sequence. */
export async function ensureCheckpoint(db: Kysely<Database>, projection: string, stream: string): Promise<number> {
  await db
    .insertInto('projector_checkpoint')
    .values({ projection, stream, last_seq: 0 })
    .onConflict((oc) => oc.column('projection').doNothing())
    .execute();
  const row = await db
    .selectFrom('projector_checkpoint')
    .select(['stream', 'last_seq'])
    .where('projection', '=', projection)
    .executeTakeFirstOrThrow();
  if (row.stream !== stream)
    throw new CheckpointStreamMismatch(
      `projection ${projection} was built from stream ${row.stream}, not ${stream}: rebuild it to change streams`,
    );
  return Number(row.last_seq);
}

/** The last applied sequence, with the row locked until the transaction ends: batches of one projection run one at a time. */
export async function lockCheckpoint(trx: Transaction<Database>, projection: string): Promise<number> {
  const row = await trx
    .selectFrom('projector_checkpoint')
    .select('last_seq')
    .where('projection', '=', projection)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

/**
 * Sets the checkpoint and notifies PROJECTED_CHANNEL with `<projection> <last_seq>`: inside the
 * transaction, so the notification is delivered exactly when the rows it announces commit (and not
 * at all when they roll back).
 */
export async function moveCheckpoint(trx: Transaction<Database>, projection: string, lastSeq: number): Promise<void> {
  await trx
    .updateTable('projector_checkpoint')
    .set({ last_seq: lastSeq, updated_at: sql<Date>`now()` })
    .where('projection', '=', projection)
    .execute();
  await sql`select pg_notify(${PROJECTED_CHANNEL}, ${`${projection} ${lastSeq}`})`.execute(trx);
}

/**
 * Empties the projection's tables and sets its checkpoint back to 0 (notified as `<projection> 0`),
 * in one transaction: readers see the old rows or none, never a part. A runner of this projection replays the stream from its
 * start at its next batch (rebuild() on the runner does it at once).
 */
export async function resetProjection<DB extends Database>(
  db: Kysely<DB>,
  projection: Pick<Projection<DB>, 'name' | 'tables'>,
): Promise<void> {
  await (db as unknown as Kysely<Database>).transaction().execute(async (trx) => {
    // Locked (when it exists) so that no batch of a running runner commits in between.
    await trx
      .selectFrom('projector_checkpoint')
      .select('last_seq')
      .where('projection', '=', projection.name)
      .forUpdate()
      .execute();
    if (projection.tables.length > 0)
      await sql`truncate table ${sql.join(projection.tables.map((table) => sql.table(table)))}`.execute(trx);
    await moveCheckpoint(trx, projection.name, 0);
  });
}

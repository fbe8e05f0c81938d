// Stands for the projector (another helper's service) in the directory's tests: follows
// TESSERA_EVENTS' association and pepper events, writes the rows the directory reads, moves the
// checkpoint and NOTIFYs as the real one does at each message. Can be paused (a projector behind).
import { normalizeThreepid } from '@tessera/addresses';
import { ASSOCIATIONS_PROJECTION, type Database, PROJECTED_CHANNEL } from '@tessera/db';
import { type DataKeys, decodeEnvelope } from '@tessera/event-store';
import { indexHashes } from '@tessera/lookup-hash';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey, mediumFromEvent } from '@tessera/spec-params';
import { type Kysely, sql } from 'kysely';
import type { NatsConnection } from 'nats';

export interface StandInProjector {
  paused: boolean;
  stop(): Promise<void>;
}

export async function startStandInProjector(
  nc: NatsConnection,
  db: Kysely<Database>,
  dataKeys: DataKeys,
): Promise<StandInProjector> {
  const js = nc.jetstream();
  // Every event of the stream (an ordered consumer with several filter subjects never starts
  // here); those of other aggregates only move the checkpoint.
  const consumer = await js.consumers.get('TESSERA_EVENTS');
  const messages = await consumer.consume();
  const state: StandInProjector = { paused: false, stop: async () => void (await messages.close()) };
  const waitUnpaused = async () => {
    while (state.paused) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  void (async () => {
    for await (const message of messages) {
      await waitUnpaused();
      const seq = message.seq;
      const envelope = decodeEnvelope(message.data);
      await db.transaction().execute(async (trx) => {
        for (const event of envelope.events) await apply(trx, event.payload, seq, dataKeys);
        await trx
          .insertInto('projector_checkpoint')
          .values({
            projection: ASSOCIATIONS_PROJECTION,
            stream: 'TESSERA_EVENTS',
            last_seq: seq,
            updated_at: new Date(),
          })
          .onConflict((oc) => oc.column('projection').doUpdateSet({ last_seq: seq }))
          .execute();
        await sql`select pg_notify(${PROJECTED_CHANNEL}, ${`${ASSOCIATIONS_PROJECTION} ${seq}`})`.execute(trx);
      });
    }
  })();
  return state;
}

type Payload = ReturnType<typeof decodeEnvelope>['events'][number]['payload'];

async function apply(db: Kysely<Database>, payload: Payload, seq: number, dataKeys: DataKeys) {
  switch (payload?.$case) {
    case 'associationBound': {
      const bound = payload.value;
      const aggregate = bindingDataKey(bound.addrKey, bound.bindingId);
      const opened =
        bound.association &&
        (await dataKeys.openField(aggregate, ASSOCIATION_SEALED_FIELDS.association, bound.association));
      await db.deleteFrom('lookup_hash').where('addr_key', '=', bound.addrKey).execute();
      await db.deleteFrom('association').where('addr_key', '=', bound.addrKey).execute();
      if (!opened) return;
      const json = Buffer.from(opened).toString('utf8');
      const association = JSON.parse(json) as { address: string; mxid: string };
      const medium = mediumFromEvent(bound.medium) ?? 'email';
      // As the projector: the row is of the 3PID, whatever case the signed association keeps.
      const address = normalizeThreepid(medium, association.address);
      await db
        .insertInto('association')
        .values({
          addr_key: bound.addrKey,
          medium,
          address,
          mxid: association.mxid,
          binding_id: bound.bindingId,
          ts: bound.ts,
          not_before: bound.notBefore,
          not_after: bound.notAfter,
          association_json: json,
          lookup_forms: [address],
          bound_seq: seq,
        })
        .execute();
      for (const pepper of await db.selectFrom('lookup_pepper').selectAll().execute())
        for (const hash of indexHashes(medium, association.address, pepper.pepper))
          await db
            .insertInto('lookup_hash')
            .values({ pepper_id: pepper.pepper_id, hash, addr_key: bound.addrKey })
            .execute();
      return;
    }
    case 'associationUnbound': {
      // As the projector: only the binding that ended goes, not a later one of the same 3PID.
      const ended = await db
        .deleteFrom('association')
        .where('addr_key', '=', payload.value.addrKey)
        .where('binding_id', '=', payload.value.bindingId)
        .executeTakeFirst();
      if (ended.numDeletedRows > 0n)
        await db.deleteFrom('lookup_hash').where('addr_key', '=', payload.value.addrKey).execute();
      return;
    }
    case 'pepperCreated': {
      const { pepperId, pepper } = payload.value;
      for (const row of await db.selectFrom('association').select(['addr_key', 'medium', 'address']).execute())
        for (const hash of indexHashes(row.medium, row.address, pepper))
          await db.insertInto('lookup_hash').values({ pepper_id: pepperId, hash, addr_key: row.addr_key }).execute();
      await db
        .insertInto('lookup_pepper')
        .values({ pepper_id: pepperId, pepper, created_seq: seq, created_at: new Date() })
        .execute();
      return;
    }
    case 'pepperRetired':
      await db.deleteFrom('lookup_hash').where('pepper_id', '=', payload.value.pepperId).execute();
      await db.deleteFrom('lookup_pepper').where('pepper_id', '=', payload.value.pepperId).execute();
      return;
  }
}

// Stands for the projector (another service) in the invite service's tests: the associations
// projection's rows this service reads (association, invite, onbind), written as the table comments
// of packages/db's schema say, through db's own projection runner (checkpoint and NOTIFY as the
// real one). Until the projector writes invites itself, this is how the tests see them.
import { ASSOCIATIONS_PROJECTION, type Database, type ProjectedMessage, runProjection } from '@tessera/db';
import { type DataKeys, silentLogger } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey, mediumFromEvent } from '@tessera/spec-params';
import type { Kysely, Transaction } from 'kysely';
import type { NatsConnection } from 'nats';

export function startStandInProjection(nc: NatsConnection, db: Kysely<Database>, dataKeys: DataKeys) {
  return runProjection({
    nc,
    db,
    stream: 'TESSERA_EVENTS',
    durable: 'projector',
    log: silentLogger,
    projection: {
      name: ASSOCIATIONS_PROJECTION,
      tables: ['association', 'invite', 'onbind', 'imported_ephemeral_key'],
      async project(batch: readonly ProjectedMessage[], trx: Transaction<Database>) {
        for (const message of batch)
          for (const event of message.envelope.events) await apply(trx, event, message, dataKeys);
      },
    },
  });
}

async function apply(trx: Transaction<Database>, event: Event, message: ProjectedMessage, dataKeys: DataKeys) {
  const { payload } = event;
  const seq = message.seq;
  const at = new Date(message.timestampMs);
  switch (payload?.$case) {
    case 'associationBound': {
      const { addrKey, bindingId, association, medium, ts, notBefore, notAfter } = payload.value;
      await trx.deleteFrom('association').where('addr_key', '=', addrKey).execute();
      const opened =
        association &&
        (await dataKeys.openField(
          bindingDataKey(addrKey, bindingId),
          ASSOCIATION_SEALED_FIELDS.association,
          association,
        ));
      if (!opened) return;
      const json = Buffer.from(opened).toString('utf8');
      const { address, mxid } = JSON.parse(json) as { address: string; mxid: string };
      const row = {
        addr_key: addrKey,
        medium: mediumFromEvent(medium) ?? 'email',
        address,
        mxid,
        binding_id: bindingId,
      };
      const times = { ts, not_before: notBefore, not_after: notAfter };
      await trx
        .insertInto('association')
        .values({ ...row, ...times, association_json: json, lookup_forms: [address], bound_seq: seq })
        .execute();
      return;
    }
    case 'associationUnbound':
      await trx
        .deleteFrom('association')
        .where('addr_key', '=', payload.value.addrKey)
        .where('binding_id', '=', payload.value.bindingId)
        .execute();
      return;
    case 'inviteStored': {
      const { inviteId, addrKey, senderKey, ephemeralPublicKey, expiresAt } = payload.value;
      await trx
        .insertInto('invite')
        .values({
          invite_id: inviteId,
          medium: 'email',
          addr_key: addrKey,
          sender_key: senderKey,
          ephemeral_public_key: ephemeralPublicKey,
          status: 'pending',
          onbind_id: null,
          stored_at: at,
          expires_at: expiresAt ?? at,
          stored_seq: seq,
        })
        .onConflict((oc) => oc.column('invite_id').doNothing())
        .execute();
      return;
    }
    case 'inviteClaimed':
      // An empty onbind id: claimed before its import, by no call.
      await trx
        .updateTable('invite')
        .set({ status: 'claimed', onbind_id: payload.value.onbindId || null })
        .where('invite_id', '=', payload.value.inviteId)
        .where('status', '=', 'pending')
        .execute();
      return;
    case 'inviteRevoked':
      await trx
        .updateTable('invite')
        .set({ status: 'revoked' })
        .where('invite_id', '=', payload.value.inviteId)
        .execute();
      return;
    case 'onbindRequested': {
      const { onbindId, addrKey, giveUpAt } = payload.value;
      await trx
        .insertInto('onbind')
        .values({
          onbind_id: onbindId,
          addr_key: addrKey,
          status: 'requested',
          requested_at: at,
          give_up_at: giveUpAt ?? at,
          requested_seq: seq,
        })
        .onConflict((oc) => oc.column('onbind_id').doNothing())
        .execute();
      return;
    }
    case 'ephemeralKeysImported':
      for (const publicKey of payload.value.publicKeys)
        await trx
          .insertInto('imported_ephemeral_key')
          .values({ public_key: publicKey, imported_seq: seq })
          .onConflict((oc) => oc.column('public_key').doNothing())
          .execute();
      return;
    case 'onbindDelivered':
    case 'onbindAbandoned': {
      const status = payload.$case === 'onbindDelivered' ? 'delivered' : 'abandoned';
      const { onbindId } = payload.value;
      await trx.updateTable('onbind').set({ status }).where('onbind_id', '=', onbindId).execute();
      await trx
        .updateTable('invite')
        .set({ status })
        .where('onbind_id', '=', onbindId)
        .where('status', '=', 'claimed')
        .execute();
      return;
    }
  }
}

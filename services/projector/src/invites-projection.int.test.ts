import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASSOCIATIONS_PROJECTION, runProjection } from '@tessera/db';
import { DataKeys, openDataKeySource, silentLogger } from '@tessera/event-store';
import { DURABLES } from '@tessera/nats-access';
import { sql } from 'kysely';
import { AckPolicy, DeliverPolicy } from 'nats';
import { checkpointOf, readModel, until } from '../test-support/fixtures.js';
import type { StoredInvite } from '../test-support/invite-appender.js';
import { projectorTestbed } from '../test-support/testbed.js';
import { associationsProjection } from './associations-projection.js';

// The invites' read model, written by the associations projection, on a real nats-server and
// PostgreSQL; each test a fresh stream and empty tables.
const bed = projectorTestbed();

/** A runner that projects what comes; each `covered()` waits until it has applied the stream so far. */
async function live(batchSize?: number) {
  const runner = await bed.run(batchSize === undefined ? {} : { batchSize });
  return {
    runner,
    covered: async () => {
      const upTo = await bed.lastSeq();
      await until('the projection covers the stream', () => runner.checkpoint() >= upTo);
    },
  };
}

const inviteRow = (inviteId: string) =>
  bed.db.selectFrom('invite').selectAll().where('invite_id', '=', inviteId).executeTakeFirstOrThrow();
const onbindRow = (onbindId: string) =>
  bed.db.selectFrom('onbind').selectAll().where('onbind_id', '=', onbindId).executeTakeFirstOrThrow();
const statusOf = async (...stored: StoredInvite[]) =>
  Promise.all(
    stored.map(async ({ inviteId }) => {
      const row = await inviteRow(inviteId);
      return `${row.status} ${row.onbind_id}`;
    }),
  );

/**
 * Invites for three addresses; alice's are delivered at the third attempt (two claimed by
 * InviteClaimed, one by the OnbindRequested alone, one revoked before), bob's call is abandoned,
 * carol's invite stays pending. `step` runs between the stages (to project them in several goes).
 */
async function inviteScenario(step: () => Promise<void> = async () => {}) {
  const alice = [
    await bed.invites.store('alice@x.org'),
    await bed.invites.store('alice@x.org'),
    await bed.invites.store('alice@x.org'),
  ];
  const revoked = await bed.invites.store('alice@x.org');
  const bob = await bed.invites.store('bob@x.org');
  const carol = await bed.invites.store('carol@x.org', { expiresInMs: 60_000 });
  await bed.invites.revoke(revoked.inviteId);
  await step();
  const aliceBound = await bed.directory.bind({ medium: 'email', address: 'alice@x.org', mxid: '@alice:x.org' });
  const aliceCall = aliceBound.bindingId;
  await bed.invites.claim(alice[0]?.inviteId ?? '', aliceCall);
  await bed.invites.claim(alice[1]?.inviteId ?? '', aliceCall);
  const requestedSeq = await bed.invites.requestOnbind(
    aliceCall,
    aliceBound.addrKey,
    alice.map((one) => one.inviteId),
  );
  await step();
  await bed.invites.attempt(aliceCall, 1, 'failed');
  await bed.invites.attempt(aliceCall, 2, 'failed');
  await step();
  await bed.invites.attempt(aliceCall, 3, 'delivered');
  const bobBound = await bed.directory.bind({ medium: 'email', address: 'bob@x.org', mxid: '@bob:x.org' });
  const bobCall = bobBound.bindingId;
  await bed.invites.claim(bob.inviteId, bobCall);
  await bed.invites.requestOnbind(bobCall, bobBound.addrKey, [bob.inviteId]);
  await bed.invites.attempt(bobCall, 1, 'failed');
  await step();
  await bed.invites.attempt(bobCall, 2, 'abandoned');
  return { alice, revoked, bob, carol, aliceCall, bobCall, requestedSeq };
}

describe('the invites read model', () => {
  it("is built from the invite service's and the notifier's events: pending, claimed, delivered, abandoned, revoked", async () => {
    const { covered } = await live();
    const before = new Date();
    const first = await bed.invites.store('dave@x.org');
    const afterStored = new Date();
    await covered();
    const row = await inviteRow(first.inviteId);
    assert.ok(row.stored_at >= new Date(before.getTime() - 1) && row.stored_at <= afterStored, "the envelope's time");
    assert.deepEqual(
      { ...row, stored_at: null },
      {
        invite_id: first.inviteId,
        medium: 'email',
        addr_key: first.addrKey,
        sender_key: 'sender-key',
        ephemeral_public_key: first.ephemeralPublicKey,
        status: 'pending',
        onbind_id: null,
        stored_at: null,
        expires_at: new Date('2027-01-02T10:00:00Z'),
        stored_seq: String(first.seq),
      },
    );

    const scenario = await inviteScenario();
    await covered();
    const { alice, revoked, bob, carol, aliceCall, bobCall } = scenario;
    assert.deepEqual(await statusOf(...alice), Array(3).fill(`delivered ${aliceCall}`));
    assert.deepEqual(await statusOf(revoked, bob, carol), ['revoked null', `abandoned ${bobCall}`, 'pending null']);
    assert.deepEqual((await inviteRow(carol.inviteId)).expires_at, new Date('2026-12-03T10:01:00Z'));

    const call = await onbindRow(aliceCall);
    assert.ok(call.requested_at >= afterStored, "the envelope's time");
    assert.deepEqual(
      { ...call, requested_at: null },
      {
        onbind_id: aliceCall,
        addr_key: alice[0]?.addrKey,
        status: 'delivered',
        attempts: 3,
        requested_at: null,
        give_up_at: new Date('2026-12-10T10:00:00Z'),
        requested_seq: String(scenario.requestedSeq),
      },
    );
    const abandoned = await onbindRow(bobCall);
    assert.deepEqual([abandoned.status, abandoned.attempts], ['abandoned', 2]);
  });

  it('shows each stage as soon as the checkpoint covers it: claimed while the call is tried, then its outcome', async () => {
    const { covered } = await live();
    const one = await bed.invites.store('erin@x.org');
    const two = await bed.invites.store('erin@x.org');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['pending null', 'pending null']);
    await bed.invites.claim(one.inviteId, 'call-1');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['claimed call-1', 'pending null'], 'InviteClaimed alone claims');
    await bed.invites.requestOnbind('call-1', one.addrKey, [one.inviteId, two.inviteId]);
    await bed.invites.attempt('call-1', 1, 'failed');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['claimed call-1', 'claimed call-1'], 'OnbindRequested claims too');
    assert.deepEqual([(await onbindRow('call-1')).status, (await onbindRow('call-1')).attempts], ['requested', 1]);
    // A second call naming them (a bug elsewhere) takes nothing: they are not pending.
    await bed.invites.requestOnbind('call-2', one.addrKey, [one.inviteId]);
    await bed.invites.attempt('call-1', 2, 'delivered');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['delivered call-1', 'delivered call-1']);
    assert.equal((await onbindRow('call-2')).status, 'requested');
  });

  it('applies the same events again without changing a row (a checkpoint set back to 0, the tables kept)', async () => {
    const first = await live();
    await inviteScenario();
    await first.covered();
    const built = await readModel(bed.db);
    assert.ok(built.invites.length === 6 && built.onbinds.length === 2);
    await bed.stopRunners();

    await sql`update projector_checkpoint set last_seq = 0 where projection = ${ASSOCIATIONS_PROJECTION}`.execute(
      bed.db,
    );
    const again = await live();
    await again.covered();
    assert.deepEqual(await readModel(bed.db), built);
  });

  it('gives the same rows when rebuilt as when projected live one message at a time', async () => {
    const { covered } = await live(1);
    await inviteScenario(covered);
    await covered();
    const built = await readModel(bed.db);
    assert.equal(built.invites.length, 6);
    await bed.stopRunners();

    const outcome = await bed.rebuild();
    assert.equal(outcome.by, 'this process');
    assert.deepEqual(await readModel(bed.db), built);
    assert.equal(await checkpointOf(bed.db, ASSOCIATIONS_PROJECTION), outcome.upTo);
  });

  it("replaces a projector durable an older version left, filtered to the associations' subjects", async () => {
    const jsm = await bed.nc.jetstreamManager();
    await jsm.consumers.add('TESSERA_EVENTS', {
      durable_name: DURABLES.projector,
      filter_subject: 'tessera.assoc.>',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const { covered } = await live();
    const stored = await bed.invites.store('frank@x.org');
    await covered();
    assert.deepEqual(await statusOf(stored), ['pending null']);
    const { config } = await jsm.consumers.info('TESSERA_EVENTS', DURABLES.projector);
    assert.equal(config.filter_subject ?? '', '', 'it reads the whole stream: invite, onbind and onbind_delivery too');
    assert.equal((config.filter_subjects ?? []).length, 0);
  });

  it('projects at start the invite events that an older projector (associations only) passed over below its checkpoint', async () => {
    const { alice, carol, aliceCall } = await inviteScenario();
    // The projector before invites: the same projection, taking only the association and pepper events.
    const keys = new DataKeys(await openDataKeySource(bed.nc), { cacheSize: 100 });
    const older = await runProjection({
      nc: bed.nc,
      db: bed.db,
      stream: 'TESSERA_EVENTS',
      durable: DURABLES.projector,
      projection: {
        ...associationsProjection({ keys, log: silentLogger }),
        eventTypes: ['AssociationBound', 'AssociationUnbound', 'PepperCreated', 'PepperRetired'],
      },
      log: silentLogger,
    });
    const upTo = await bed.lastSeq();
    await until('the older projector covers the stream', () => older.checkpoint() >= upTo);
    await older.stop();
    const passedOver = await readModel(bed.db);
    assert.equal(passedOver.associations.length, 2);
    assert.deepEqual([passedOver.invites.length, passedOver.onbinds.length], [0, 0]);

    const { covered } = await live();
    await covered();
    const caughtUp = await readModel(bed.db);
    assert.equal(caughtUp.invites.length, 6);
    assert.deepEqual(await statusOf(...alice, carol), [...Array(3).fill(`delivered ${aliceCall}`), 'pending null']);
    await bed.invites.claim(carol.inviteId, 'later-call');
    await covered();
    assert.deepEqual(await statusOf(carol), ['claimed later-call'], 'and it goes on from its checkpoint');
    const withLater = await readModel(bed.db);
    await bed.stopRunners();

    await bed.rebuild();
    assert.deepEqual(await readModel(bed.db), withLater, 'the same rows as a rebuild');
  });

  it('keeps imported invites (no ephemeral key; claimed by no call when Sydent had attempted them) and imported ephemeral keys, the same when rebuilt', async () => {
    const { covered } = await live();
    const pending = await bed.invites.store('frank@x.org', { imported: true });
    const attempted = await bed.invites.store('erin@x.org', { imported: true, attempted: true });
    const native = await bed.invites.store('grace@x.org');
    const keys = ['S7Jt50IC_134aFq5JzbvCgEdZzcgHZQRq4MpTWr9SLY', 'GD_oUoyIlfeMoJcwqfzRuAEi1sv5DFvYsB3xpuvgrA4'];
    const firstBatch = await bed.invites.importKeys('batch-1', keys);
    // A key in a second batch too: kept once, with the batch that brought it first.
    await bed.invites.importKeys('batch-2', [keys[1] ?? '', native.ephemeralPublicKey]);
    await covered();
    assert.deepEqual(await statusOf(pending, attempted, native), ['pending null', 'claimed null', 'pending null']);
    assert.equal((await inviteRow(pending.inviteId)).ephemeral_public_key, '');
    const importedKeys = () =>
      bed.db
        .selectFrom('imported_ephemeral_key')
        .select(['public_key', 'imported_seq'])
        .orderBy('imported_seq')
        .orderBy('public_key')
        .execute();
    const built = await importedKeys();
    assert.deepEqual(
      built.map(({ public_key, imported_seq }) => [public_key, Number(imported_seq)]),
      [
        [keys[1], firstBatch],
        [keys[0], firstBatch],
        [native.ephemeralPublicKey, firstBatch + 1],
      ],
    );
    const rows = await readModel(bed.db);
    await bed.stopRunners();

    await bed.rebuild();
    assert.deepEqual(await readModel(bed.db), rows);
    assert.deepEqual(await importedKeys(), built, 'the imported keys too');
  });
});

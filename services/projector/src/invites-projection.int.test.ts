import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ASSOCIATIONS_PROJECTION, type Database, type RunningProjection, runProjection } from '@tessera/db';
import { connectNats, DataKeys, openDataKeySource, silentLogger } from '@tessera/event-store';
import { DURABLES, provision } from '@tessera/nats-access';
import { startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import { AckPolicy, DeliverPolicy, type NatsConnection } from 'nats';
import { TestDirectory } from '../test-support/directory-appender.js';
import { checkpointOf, migratedDatabase, readModel, until } from '../test-support/fixtures.js';
import { type StoredInvite, TestInvites } from '../test-support/invite-appender.js';
import { ASSOCIATIONS_TABLES, associationsProjection } from './associations-projection.js';
import { runAssociations } from './projector.js';
import { rebuildAssociations } from './rebuild.js';

// The invites' read model, written by the associations projection, on a real nats-server and
// PostgreSQL; each test a fresh stream and empty tables.
let pg: TestPostgres;
let db: Kysely<Database>;
before(async () => {
  pg = await startPostgres();
  db = await migratedDatabase(pg);
});
after(async () => {
  await db?.destroy();
  await pg?.stop();
});

let nats: TestNats;
let nc: NatsConnection;
let directory: TestDirectory;
let invites: TestInvites;
const runners: RunningProjection[] = [];
beforeEach(async () => {
  nats = await startNats();
  nc = await connectNats({ url: nats.url, name: 'projector-test' });
  await provision(nc);
  directory = await TestDirectory.on(nc);
  invites = await TestInvites.on(nc);
  await sql`truncate ${sql.join(ASSOCIATIONS_TABLES.map((t) => sql.table(t)))}, projector_checkpoint`.execute(db);
});
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await nc.close();
  await nats.stop();
});

const lastSeq = async () => (await (await nc.jetstreamManager()).streams.info('TESSERA_EVENTS')).state.last_seq;

/** A runner that projects what comes; each `covered()` waits until it has applied the stream so far. */
async function live(batchSize?: number) {
  const runner = await runAssociations({ nc, db, log: silentLogger, ...(batchSize && { batchSize }) });
  runners.push(runner);
  return {
    runner,
    covered: async () => {
      const upTo = await lastSeq();
      await until('the projection covers the stream', () => runner.checkpoint() >= upTo);
    },
  };
}

const inviteRow = (inviteId: string) =>
  db.selectFrom('invite').selectAll().where('invite_id', '=', inviteId).executeTakeFirstOrThrow();
const onbindRow = (onbindId: string) =>
  db.selectFrom('onbind').selectAll().where('onbind_id', '=', onbindId).executeTakeFirstOrThrow();
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
    await invites.store('alice@x.org'),
    await invites.store('alice@x.org'),
    await invites.store('alice@x.org'),
  ];
  const revoked = await invites.store('alice@x.org');
  const bob = await invites.store('bob@x.org');
  const carol = await invites.store('carol@x.org', { expiresInMs: 60_000 });
  await invites.revoke(revoked.inviteId);
  await step();
  const aliceBound = await directory.bind({ medium: 'email', address: 'alice@x.org', mxid: '@alice:x.org' });
  const aliceCall = aliceBound.bindingId;
  await invites.claim(alice[0]?.inviteId ?? '', aliceCall);
  await invites.claim(alice[1]?.inviteId ?? '', aliceCall);
  const requestedSeq = await invites.requestOnbind(
    aliceCall,
    aliceBound.addrKey,
    alice.map((one) => one.inviteId),
  );
  await step();
  await invites.attempt(aliceCall, 1, 'failed');
  await invites.attempt(aliceCall, 2, 'failed');
  await step();
  await invites.attempt(aliceCall, 3, 'delivered');
  const bobBound = await directory.bind({ medium: 'email', address: 'bob@x.org', mxid: '@bob:x.org' });
  const bobCall = bobBound.bindingId;
  await invites.claim(bob.inviteId, bobCall);
  await invites.requestOnbind(bobCall, bobBound.addrKey, [bob.inviteId]);
  await invites.attempt(bobCall, 1, 'failed');
  await step();
  await invites.attempt(bobCall, 2, 'abandoned');
  return { alice, revoked, bob, carol, aliceCall, bobCall, requestedSeq };
}

describe('the invites read model', () => {
  it("is built from the invite service's and the notifier's events: pending, claimed, delivered, abandoned, revoked", async () => {
    const { covered } = await live();
    const before = new Date();
    const first = await invites.store('dave@x.org');
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
    const one = await invites.store('erin@x.org');
    const two = await invites.store('erin@x.org');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['pending null', 'pending null']);
    await invites.claim(one.inviteId, 'call-1');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['claimed call-1', 'pending null'], 'InviteClaimed alone claims');
    await invites.requestOnbind('call-1', one.addrKey, [one.inviteId, two.inviteId]);
    await invites.attempt('call-1', 1, 'failed');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['claimed call-1', 'claimed call-1'], 'OnbindRequested claims too');
    assert.deepEqual([(await onbindRow('call-1')).status, (await onbindRow('call-1')).attempts], ['requested', 1]);
    // A second call naming them (a bug elsewhere) takes nothing: they are not pending.
    await invites.requestOnbind('call-2', one.addrKey, [one.inviteId]);
    await invites.attempt('call-1', 2, 'delivered');
    await covered();
    assert.deepEqual(await statusOf(one, two), ['delivered call-1', 'delivered call-1']);
    assert.equal((await onbindRow('call-2')).status, 'requested');
  });

  it('applies the same events again without changing a row (a checkpoint set back to 0, the tables kept)', async () => {
    const first = await live();
    await inviteScenario();
    await first.covered();
    const built = await readModel(db);
    assert.ok(built.invites.length === 6 && built.onbinds.length === 2);
    await runners.splice(0)[0]?.stop();

    await sql`update projector_checkpoint set last_seq = 0 where projection = ${ASSOCIATIONS_PROJECTION}`.execute(db);
    const again = await live();
    await again.covered();
    assert.deepEqual(await readModel(db), built);
  });

  it('gives the same rows when rebuilt as when projected live one message at a time', async () => {
    const { covered } = await live(1);
    await inviteScenario(covered);
    await covered();
    const built = await readModel(db);
    assert.equal(built.invites.length, 6);
    await runners.splice(0)[0]?.stop();

    const outcome = await rebuildAssociations({ nc, database: { url: pg.url, poolSize: 2 }, log: silentLogger });
    assert.equal(outcome.by, 'this process');
    assert.deepEqual(await readModel(db), built);
    assert.equal(await checkpointOf(db, ASSOCIATIONS_PROJECTION), outcome.upTo);
  });

  it("replaces a projector durable an older version left, filtered to the associations' subjects", async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add('TESSERA_EVENTS', {
      durable_name: DURABLES.projector,
      filter_subject: 'tessera.assoc.>',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const { covered } = await live();
    const stored = await invites.store('frank@x.org');
    await covered();
    assert.deepEqual(await statusOf(stored), ['pending null']);
    const { config } = await jsm.consumers.info('TESSERA_EVENTS', DURABLES.projector);
    assert.equal(config.filter_subject ?? '', '', 'it reads the whole stream: invite, onbind and onbind_delivery too');
    assert.equal((config.filter_subjects ?? []).length, 0);
  });

  it('projects at start the invite events that an older projector (associations only) passed over below its checkpoint', async () => {
    const { alice, carol, aliceCall } = await inviteScenario();
    // The projector before invites: the same projection, taking only the association and pepper events.
    const keys = new DataKeys(await openDataKeySource(nc), { cacheSize: 100 });
    const older = await runProjection({
      nc,
      db,
      stream: 'TESSERA_EVENTS',
      durable: DURABLES.projector,
      projection: {
        ...associationsProjection({ keys, log: silentLogger }),
        eventTypes: ['AssociationBound', 'AssociationUnbound', 'PepperCreated', 'PepperRetired'],
      },
      log: silentLogger,
    });
    const upTo = await lastSeq();
    await until('the older projector covers the stream', () => older.checkpoint() >= upTo);
    await older.stop();
    const passedOver = await readModel(db);
    assert.equal(passedOver.associations.length, 2);
    assert.deepEqual([passedOver.invites.length, passedOver.onbinds.length], [0, 0]);

    const { covered } = await live();
    await covered();
    const caughtUp = await readModel(db);
    assert.equal(caughtUp.invites.length, 6);
    assert.deepEqual(await statusOf(...alice, carol), [...Array(3).fill(`delivered ${aliceCall}`), 'pending null']);
    await invites.claim(carol.inviteId, 'later-call');
    await covered();
    assert.deepEqual(await statusOf(carol), ['claimed later-call'], 'and it goes on from its checkpoint');
    const withLater = await readModel(db);
    await runners.splice(0)[0]?.stop();

    await rebuildAssociations({ nc, database: { url: pg.url, poolSize: 2 }, log: silentLogger });
    assert.deepEqual(await readModel(db), withLater, 'the same rows as a rebuild');
  });
});

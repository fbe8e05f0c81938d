import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ASSOCIATIONS_PROJECTION, type Database } from '@tessera/db';
import { silentLogger } from '@tessera/event-store';
import { authorizationConfig, ensureIdentityFiles, identityFileOf, provision } from '@tessera/nats-access';
import { connectAsIdentity, startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import type { NatsConnection } from 'nats';
import { type Bound, TestDirectory } from '../test-support/directory-appender.js';
import { checkpointOf, countOf, migratedDatabase, readModel, until } from '../test-support/fixtures.js';
import { TestInvites } from '../test-support/invite-appender.js';
import { ASSOCIATIONS_TABLES } from './associations-projection.js';
import { rebuildAssociations } from './rebuild.js';

// The projector as a real process, as the projector NATS identity, on a nats-server with every
// identity's permissions and a real PostgreSQL; the bindings appended as the directory identity,
// the invites and onbind calls as the invite and notifier identities.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

let dir: string;
let nats: TestNats;
let pg: TestPostgres;
let db: Kysely<Database>;
let directoryNc: NatsConnection;
let projectorNc: NatsConnection;
let directory: TestDirectory;
let inviteNc: NatsConnection;
let notifierNc: NatsConnection;
let invites: TestInvites;
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-projector-'));
  nats = await startNats({ extraConfig: authorizationConfig(await ensureIdentityFiles(dir)) });
  const admin = await connectAsIdentity(nats.url, 'admin', identityFileOf(dir, 'admin'));
  await provision(admin, { replicas: 1, longestRateLimitWindowMs: 3_600_000 });
  await admin.close();
  pg = await startPostgres();
  db = await migratedDatabase(pg);
  directoryNc = await connectAsIdentity(nats.url, 'directory', identityFileOf(dir, 'directory'));
  projectorNc = await connectAsIdentity(nats.url, 'projector', identityFileOf(dir, 'projector'));
  directory = await TestDirectory.on(directoryNc);
  inviteNc = await connectAsIdentity(nats.url, 'invite', identityFileOf(dir, 'invite'));
  notifierNc = await connectAsIdentity(nats.url, 'notifier', identityFileOf(dir, 'notifier'));
  invites = await TestInvites.on(inviteNc, notifierNc);
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await directoryNc?.close();
  await inviteNc?.close();
  await notifierNc?.close();
  await projectorNc?.close();
  await db?.destroy();
  await pg?.stop();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
});

type Projector = { child: ChildProcess; port: number; output: () => string };

async function startProjector(): Promise<Projector> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      TESSERA_NATS_URL: nats.url,
      TESSERA_NATS_CREDENTIALS_FILE: identityFileOf(dir, 'projector'),
      TESSERA_DATABASE_URL: pg.url,
      TESSERA_METRICS_LISTEN: '127.0.0.1:0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let stdout = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
  });
  let port = 0;
  await until('the admin server listens', () => {
    const line = stdout.split('\n').find((l) => l.includes('admin server listening'));
    port = line ? Number(JSON.parse(line).port) : 0;
    return port > 0;
  });
  return { child, port, output: () => stdout };
}

async function stateOf({ port }: Projector): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
  if (response?.status !== 200) return undefined;
  return ((await response.json()) as { states?: Record<string, string> }).states?.projector;
}

async function kill(projector: Projector): Promise<void> {
  projector.child.kill('SIGKILL');
  await once(projector.child, 'exit');
}

async function lastSeq(): Promise<number> {
  return (await (await projectorNc.jetstreamManager()).streams.info('TESSERA_EVENTS')).state.last_seq;
}

/**
 * Stores `count` invites, 8 at a time, and takes each third one through a delivered call and each
 * third one through an abandoned one (a call per invite); answers the status each should end with.
 */
async function inviteLoad(prefix: string, count: number): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const i = next++;
        const stored = await invites.store(`${prefix}${i}@x.org`);
        const call = `${prefix}-call-${i}`;
        if (i % 3 === 0) {
          expected.set(stored.inviteId, 'pending null');
          continue;
        }
        await invites.claim(stored.inviteId, call);
        await invites.requestOnbind(call, stored.addrKey, [stored.inviteId]);
        const outcome = i % 3 === 1 ? 'delivered' : 'abandoned';
        await invites.attempt(call, 1, outcome);
        expected.set(stored.inviteId, `${outcome} ${call}`);
      }
    }),
  );
  return expected;
}

async function emptyReadModel() {
  await sql`truncate ${sql.join(ASSOCIATIONS_TABLES.map((t) => sql.table(t)))}`.execute(db);
  await sql`update projector_checkpoint set last_seq = 0`.execute(db);
}

/**
 * Binds at least `count` new addresses, 16 at a time, and goes on binding until `during` has ended,
 * so that what `during` waits for (a projector with more waiting behind it) cannot run out on a
 * machine where the binds go faster than the kills.
 */
async function bindLoad(prefix: string, count: number, during: () => Promise<void>): Promise<Bound[]> {
  const bound: Bound[] = [];
  let next = 0;
  let duringEnded = false;
  const watched = during().finally(() => {
    duringEnded = true;
  });
  const appending = Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count || !duringEnded) {
        const i = next++;
        bound.push(
          await directory.bind({ medium: 'email', address: `${prefix}${i}@x.org`, mxid: `@${prefix}${i}:x.org` }),
        );
      }
    }),
  );
  await Promise.all([appending, watched]);
  return bound;
}

describe('the projector process', () => {
  it('loses nothing and doubles nothing when killed (-9) in the middle of batches under a bind and invite load', async (t) => {
    await emptyReadModel();
    await directory.createPepper(`p-${Date.now()}`, 'fault-pepper');
    let projector = await startProjector();
    const invited = inviteLoad('k', 300);
    const bound = await bindLoad('k', 4_000, async () => {
      for (let kills = 0; kills < 3; kills++) {
        // Killed while it is applying: its checkpoint has moved and more is waiting behind it.
        const from = await checkpointOf(db, ASSOCIATIONS_PROJECTION);
        let at = 0;
        let behind = 0;
        await until('the projector applies batches with more waiting', async () => {
          at = await checkpointOf(db, ASSOCIATIONS_PROJECTION);
          behind = (await lastSeq()) - at;
          return at > from + 200 && behind > 0;
        });
        await kill(projector);
        t.diagnostic(`killed at checkpoint ${at} with ${behind} messages behind it`);
        projector = await startProjector();
      }
    });
    const expectedInvites = await invited;
    const upTo = await lastSeq();
    await until(
      'the projector covers the stream',
      async () => (await checkpointOf(db, ASSOCIATIONS_PROJECTION)) >= upTo,
    );

    const rows = await db.selectFrom('association').select(['addr_key', 'binding_id', 'bound_seq']).execute();
    assert.equal(rows.length, bound.length, 'one row per binding');
    const expected = new Map(bound.map((b) => [b.addrKey, `${b.bindingId} ${b.seq}`]));
    for (const row of rows) assert.equal(`${row.binding_id} ${row.bound_seq}`, expected.get(row.addr_key));
    assert.equal(await countOf(db, 'lookup_hash'), bound.length, 'one hash per binding for the one pepper');
    const { rows: perKey } = await sql<{ n: string }>`
      select count(*) as n from (select addr_key from lookup_hash group by addr_key having count(*) <> 1) twice`.execute(
      db,
    );
    assert.equal(perKey[0]?.n, '0', 'no binding hashed twice or missing');

    const inviteRows = await db.selectFrom('invite').select(['invite_id', 'status', 'onbind_id']).execute();
    assert.equal(inviteRows.length, expectedInvites.size, 'one row per invite');
    for (const row of inviteRows)
      assert.equal(`${row.status} ${row.onbind_id}`, expectedInvites.get(row.invite_id), row.invite_id);
    const calls = await db.selectFrom('onbind').select(['status', 'attempts']).execute();
    assert.equal(calls.length, 200, 'one row per onbind call');
    assert.ok(calls.every((call) => call.attempts === 1 && call.status !== 'requested'));
    assert.ok(projector.output().includes('"role":"active"'), 'its log says it is active');
  });

  it('has a standby take over when the active projector is killed (-9)', async () => {
    const first = await startProjector();
    await until('the first is active', async () => (await stateOf(first)) === 'active');
    const second = await startProjector();
    await until('the second stands by', async () => (await stateOf(second)) === 'standby');
    await until('its log says it stands by', async () => second.output().includes('projector standing by'));

    // Its lag metric works under the projector identity (stream info is among its rights).
    const metrics = await (await fetch(`http://127.0.0.1:${first.port}/metrics`)).text();
    assert.match(metrics, /tessera_projection_lag_events\{projection="associations",service="projector"\} \d+\n/);

    await kill(first);
    await until('the second is active', async () => (await stateOf(second)) === 'active');
    const later = await directory.bind({ medium: 'email', address: 'after-takeover@x.org', mxid: '@t:x.org' });
    await until('the standby projects it', async () => (await checkpointOf(db, ASSOCIATIONS_PROJECTION)) >= later.seq);
    const row = await db
      .selectFrom('association')
      .select('binding_id')
      .where('addr_key', '=', later.addrKey)
      .executeTakeFirst();
    assert.equal(row?.binding_id, later.bindingId);

    // It follows the binding keys as the projector identity: a key read before its event is used from memory.
    const metric = async (pattern: RegExp) =>
      Number((await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text()).match(pattern)?.[1] ?? Number.NaN);
    const held = () => metric(/tessera_projector_binding_keys_held\{service="projector"\} (\d+)/);
    const followed = () =>
      metric(/tessera_projector_binding_keys_total\{source="followed",service="projector"\} (\d+)/);
    const before = await followed();
    // A key that reached it after its binding was projected (fetched then) may still be held:
    // wait for one more, not for any.
    const heldBefore = await held();
    const next = await directory.bind(
      { medium: 'email', address: 'followed@x.org', mxid: '@f:x.org' },
      { beforeAppend: () => until('the projector holds the new key', async () => (await held()) > heldBefore) },
    );
    await until('it projects it', async () => (await checkpointOf(db, ASSOCIATIONS_PROJECTION)) >= next.seq);
    assert.equal(await followed(), before + 1, 'its key came from the followed stream');
  });

  it('rebuilds beside an active projector by asking it, and the tables come out identical (invites too)', async () => {
    // Appended as the invite service and the notifier: the projector needs no rights on their keys.
    const stored = await invites.store('rebuilt@x.org');
    await invites.requestOnbind('rebuilt-call', stored.addrKey, [stored.inviteId]);
    await invites.attempt('rebuilt-call', 1, 'failed');
    const active = await startProjector();
    await until('it is active', async () => (await stateOf(active)) === 'active');
    const upTo = await lastSeq();
    await until('it covers the stream', async () => (await checkpointOf(db, ASSOCIATIONS_PROJECTION)) >= upTo);
    const before = await readModel(db);
    assert.ok(before.associations.length > 0);
    const invite = before.invites.find((row) => row.invite_id === stored.inviteId);
    assert.deepEqual([invite?.status, invite?.onbind_id], ['claimed', 'rebuilt-call']);
    assert.deepEqual(
      before.onbinds.filter((row) => row.onbind_id === 'rebuilt-call').map((row) => [row.status, row.attempts]),
      [['requested', 1]],
    );

    const outcome = await rebuildAssociations({
      nc: projectorNc,
      database: { url: pg.url, poolSize: 2 },
      log: silentLogger,
    });
    assert.equal(outcome.by, 'the active projector');
    assert.equal(outcome.upTo, upTo);
    assert.deepEqual(await readModel(db), before);
    assert.ok(active.output().includes('rebuild asked for'));
  });

  it('projects at start, as the projector identity, the invite events below its checkpoint that an older projector passed over', async () => {
    const stored = await invites.store('upgraded@x.org');
    await invites.revoke(stored.inviteId);
    let projector = await startProjector();
    const upTo = await lastSeq();
    await until('it covers the stream', async () => (await checkpointOf(db, ASSOCIATIONS_PROJECTION)) >= upTo);
    const built = await readModel(db);
    assert.ok(built.invites.some((row) => row.invite_id === stored.inviteId && row.status === 'revoked'));
    await kill(projector);

    // What a projector without invites leaves: its checkpoint past the invite events, no invite rows.
    await sql`truncate invite, onbind`.execute(db);
    projector = await startProjector();
    await until('the invites are back', async () => (await countOf(db, 'invite')) === built.invites.length);
    assert.deepEqual(await readModel(db), built);
    assert.ok(projector.output().includes('invite events below the checkpoint projected'));
  });
});

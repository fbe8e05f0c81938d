import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { openDatabase } from '@tessera/db';
import { silentLogger } from '@tessera/event-store';
import { sql } from 'kysely';
import { json, mailTo, newClientSecret } from '../system/flows.js';
import { type OutsideWorld, startOutsideWorld } from '../system/outside-world.js';
import { eventually, type RunningSystem, startSystem } from '../system/running-system.js';
import { stopSystemAndWorld } from '../system/system-with-user.js';

// "Bound means findable" on the whole running system: a load of binds while the projector is
// killed with SIGKILL twice (the runner restarts it). A bind answers only once the projector has
// applied it, so it waits across the restart: every bind answered 200 must be found by the very
// next lookup, and each binding must be in the read model exactly once, hashes included. A bind
// answered 503 (stored, not yet visible) must become findable too; one that failed otherwise was
// not acknowledged.

const BINDS = 60;
const IN_FLIGHT = 8;
const V1 = '/_matrix/identity/api/v1';

let world: OutsideWorld;
let system: RunningSystem;

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({
    env: {
      ...world.env,
      TESSERA_RATE_LIMITS: 'off',
      TESSERA_LOG_LEVEL: 'warn',
      // Long enough to wait across a restart of the projector (the runner's first restart is at once).
      TESSERA_BIND_VISIBLE_WAIT_MS: '30000',
    },
  });
});
after(() => stopSystemAndWorld(system, world));

type Validated = { address: string; mxid: string; sid: string; clientSecret: string };

/** A validated v1 session for a fresh address, through the mail's link. */
async function validatedSession(index: number): Promise<Validated> {
  const address = `bind-fault-${index}-${Date.now()}@example.org`;
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const res = await fetch(
    `${system.baseUrl}${V1}/validate/email/requestToken`,
    json({ client_secret: clientSecret, email: address, send_attempt: 1 }),
  );
  assert.equal(res.status, 200, await res.clone().text());
  const { sid } = (await res.json()) as { sid: string };
  const { link } = await mailTo(world.smtp, address, sentAfter);
  assert.equal((await fetch(link)).status, 200);
  return { address, mxid: `@bind-fault-${index}:example.org`, sid, clientSecret };
}

const projectorPid = () => system.state().services.projector?.pid;

function killProjector(): number {
  const pid = projectorPid();
  assert.ok(pid, 'the runner says where the projector runs');
  process.kill(pid, 'SIGKILL');
  return pid;
}

async function lookup(address: string): Promise<string | undefined> {
  const res = await fetch(`${system.baseUrl}${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { mxid?: string }).mxid;
}

it('every bind answered 200 is found at once, and every binding is in the read model exactly once', async () => {
  const sessions: Validated[] = [];
  for (let i = 0; i < BINDS; i++) sessions.push(await validatedSession(i));

  const outcomes = new Map<Validated, number>();
  const killedPids: number[] = [];
  let next = 0;
  let answered = 0;
  const bindOne = async (session: Validated) => {
    const res = await fetch(
      `${system.baseUrl}${V1}/3pid/bind`,
      json({ sid: session.sid, client_secret: session.clientSecret, mxid: session.mxid }),
    ).catch(() => null);
    outcomes.set(session, res?.status ?? 0);
    await res?.arrayBuffer();
    answered++;
  };
  const worker = async () => {
    while (next < sessions.length) await bindOne(sessions[next++] as Validated);
  };
  // Kills while binds are waiting for the projector: once a tenth have been answered, and at half.
  const killer = async () => {
    for (const after of [BINDS / 10, BINDS / 2]) {
      await eventually(async () => answered >= after, 60_000, `${after} binds answered`);
      const before = projectorPid();
      killedPids.push(killProjector());
      await eventually(async () => projectorPid() !== before, 30_000, 'the runner restarting the projector');
    }
  };
  await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, worker)]);
  assert.equal(killedPids.length, 2, 'the projector was killed twice during the load');

  const acknowledged = sessions.filter((s) => outcomes.get(s) === 200);
  const stored = sessions.filter((s) => outcomes.get(s) === 503);
  const failed = sessions.filter((s) => ![200, 503].includes(outcomes.get(s) ?? 0));
  console.log(
    `binds: ${acknowledged.length} answered 200, ${stored.length} answered 503, ${failed.length} failed otherwise`,
  );
  assert.ok(acknowledged.length > 0, 'some binds were acknowledged');
  for (const session of acknowledged)
    assert.equal(await lookup(session.address), session.mxid, `${session.address} is found at once after its 200`);
  for (const session of stored)
    await eventually(
      async () => (await lookup(session.address)) === session.mxid,
      30_000,
      `${session.address} (503) findable`,
    );

  const { databaseUrl } = system.state();
  assert.ok(databaseUrl, 'the runner says where its database is');
  const db = await openDatabase({ url: databaseUrl, poolSize: 1 }, silentLogger);
  try {
    const bound = [...acknowledged, ...stored].map((s) => s.address);
    const rows = await db.selectFrom('association').select(['address', 'mxid']).where('address', 'in', bound).execute();
    assert.equal(rows.length, bound.length, 'one row per binding, none missing, none twice');
    const peppers = Number(
      (await db.selectFrom('lookup_pepper').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n,
    );
    const hashes = await db
      .selectFrom('lookup_hash as h')
      .innerJoin('association as a', 'a.addr_key', 'h.addr_key')
      .select(['a.address', sql<string>`count(*)`.as('n')])
      .where('a.address', 'in', bound)
      .groupBy('a.address')
      .execute();
    assert.equal(hashes.length, bound.length, 'every binding is in the hashed index');
    for (const { address, n } of hashes) assert.equal(Number(n), peppers, `${address}: one hash per live pepper`);
  } finally {
    await db.destroy();
  }
});

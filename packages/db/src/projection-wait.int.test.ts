import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { migratedDatabase, silentLog, startPostgres, type TestPostgres, until } from '../test-support/fixtures.js';
import { ASSOCIATIONS_PROJECTION, PROJECTED_CHANNEL } from './projected.js';
import { type ProjectionWait, watchProjection } from './projection-wait.js';
import type { Database } from './schema.js';

// A real PostgreSQL; the test stands for the projector: it moves the checkpoint row and NOTIFYs.
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

const opened: ProjectionWait[] = [];
afterEach(async () => {
  for (const wait of opened.splice(0)) await wait.close();
  await db.deleteFrom('projector_checkpoint').execute();
});

const NEVER = 3_600_000; // a poll that never comes: only a notification can end the wait
async function open(pollMs = NEVER): Promise<ProjectionWait> {
  const wait = await watchProjection({
    db,
    url: pg.url,
    projection: ASSOCIATIONS_PROJECTION,
    log: silentLog,
    pollMs,
    reconnectMs: 50,
  });
  opened.push(wait);
  return wait;
}
const setCheckpoint = (lastSeq: number, projection = ASSOCIATIONS_PROJECTION) =>
  db
    .insertInto('projector_checkpoint')
    .values({ projection, stream: 'TESSERA_EVENTS', last_seq: lastSeq, updated_at: new Date() })
    .onConflict((oc) => oc.column('projection').doUpdateSet({ last_seq: lastSeq }))
    .execute();
const notify = (payload: string) => sql`select pg_notify(${PROJECTED_CHANNEL}, ${payload})`.execute(db);

describe('waiting for the projection', () => {
  it('ends when the projector notifies a batch at or past the sequence', async () => {
    const wait = await open();
    const reached = wait.until(7, NEVER);
    await notify(`${ASSOCIATIONS_PROJECTION} 5`);
    await until(() => wait.checkpoint() === 5, 'the first notification is seen');
    await notify(`${ASSOCIATIONS_PROJECTION} 8`);
    assert.equal(await reached, true);
    assert.equal(wait.checkpoint(), 8);
  });

  it('goes back with a rebuild: once the checkpoint is reset, a sequence it had passed waits again', async () => {
    const wait = await open();
    await notify(`${ASSOCIATIONS_PROJECTION} 10`);
    await until(() => wait.checkpoint() === 10, 'the batch is seen');
    await notify(`${ASSOCIATIONS_PROJECTION} 0`); // resetProjection's notification
    await until(() => wait.checkpoint() === 0, 'the reset is seen');
    assert.equal(await wait.until(5, 200), false, 'not visible while the replay is behind it');
    const replayed = wait.until(5, NEVER);
    await notify(`${ASSOCIATIONS_PROJECTION} 6`);
    assert.equal(await replayed, true);
  });

  it('answers at once when the checkpoint row is past the sequence already', async () => {
    await setCheckpoint(20);
    const wait = await open();
    assert.equal(await wait.until(20, NEVER), true);
  });

  it('reads the checkpoint at the start of each wait (a batch applied before it began)', async () => {
    const wait = await open();
    await setCheckpoint(3);
    assert.equal(await wait.until(3, NEVER), true);
  });

  it("ignores another projection's notifications and gives up after the timeout", async () => {
    const wait = await open();
    const reached = wait.until(2, 300);
    await notify('invites 10');
    assert.equal(await reached, false);
    assert.equal(wait.checkpoint(), 0);
  });

  it('finds a batch whose notification was missed by polling the checkpoint while someone waits', async () => {
    const wait = await open(20);
    const reached = wait.until(4, NEVER);
    await setCheckpoint(4);
    assert.equal(await reached, true);
  });

  it('listens again after its connection drops, and catches up from the checkpoint', async () => {
    const wait = await open();
    const advanced: number[] = [];
    wait.onAdvance((seq) => advanced.push(seq));
    await setCheckpoint(6); // applied, its notification lost: only a read of the row finds it
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where query = ${`LISTEN ${PROJECTED_CHANNEL}`}`.execute(
      db,
    );
    await until(() => wait.checkpoint() === 6, 'the checkpoint is read on listening again');
    await until(() => wait.isListening(), 'it listens again');
    const reached = wait.until(9, NEVER);
    await notify(`${ASSOCIATIONS_PROJECTION} 9`);
    assert.equal(await reached, true);
    assert.deepEqual(advanced, [6, 9]);
  });

  it('ends every wait with false when closed', async () => {
    const wait = await open();
    const reached = wait.until(100, NEVER);
    await wait.close();
    assert.equal(await reached, false);
  });
});

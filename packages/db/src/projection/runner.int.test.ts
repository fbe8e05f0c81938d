import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { TestNats } from '@tessera/test-harness';
import type { Kysely } from 'kysely';
import { connect, type NatsConnection } from 'nats';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import {
  appendEvents,
  checkpointRow,
  createProjectedTable,
  migratedDatabase,
  natsWithStreams,
  rowsOf,
  rowsProjection,
  rowsRunnerOptions,
  STREAM,
  startPostgres,
  type TestPostgres,
  until,
} from '../../test-support/fixtures.js';
import { PROJECTED_CHANNEL } from '../projected.js';
import type { Database } from '../schema.js';
import { CheckpointStreamMismatch, resetProjection } from './checkpoint.js';
import type { ProjectedMessage, Projection } from './projection.js';
import { type RunningProjection, runProjection } from './runner.js';

// The runner on a real nats-server (TESSERA_EVENTS as provisioning makes it) and a real PostgreSQL;
// each test has its own NATS, its own table, projection name and durable consumer.
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
let table: string;
let tests = 0;
const running: RunningProjection[] = [];
beforeEach(async () => {
  ({ nats, nc } = await natsWithStreams());
  table = `projected_${++tests}`;
  await createProjectedTable(db, table);
});
afterEach(async () => {
  for (const runner of running.splice(0)) await runner.stop();
  await nc.close();
  await nats.stop();
});

type Options = Partial<Parameters<typeof runProjection>[0]>;
async function start(options: Options = {}): Promise<RunningProjection> {
  const runner = await runProjection({ ...rowsRunnerOptions(nc, db, table), retryDelayMs: () => 50, ...options });
  running.push(runner);
  return runner;
}

const seqsOf = (rows: { seq: string }[]) => rows.map((row) => Number(row.seq));
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const consumerInfo = () => nc.jetstreamManager().then((jsm) => jsm.consumers.info(STREAM, table));
const metricValue = async (registry: Registry, name: string) =>
  (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.projection === table)?.value;

describe('the projection runner', () => {
  it('applies every message once, in stream order, in batches of at most batchSize, the checkpoint with the rows', async () => {
    await appendEvents(nc, 250);
    const batches: number[] = [];
    // A long linger: the 250 messages already there fill two batches of 100, and the rest a third.
    const runner = await start({
      projection: rowsProjection(table, (batch) => void batches.push(batch.length)),
      batchSize: 100,
      lingerMs: 2_000,
    });
    await until(() => runner.checkpoint() === 250, 'all 250 are applied');

    assert.deepEqual(batches, [100, 100, 50]);
    const rows = await rowsOf(db, table);
    assert.deepEqual(seqsOf(rows), oneToN(250), 'each once, inserted in stream order');
    assert.equal(rows[0]?.event_type, 'KeyRevoked');
    const checkpoint = await checkpointRow(db, table);
    assert.equal(checkpoint?.last_seq, '250', 'int8 is read as a string');
    assert.equal(checkpoint?.stream, STREAM);
    await until(async () => (await consumerInfo()).ack_floor.stream_seq === 250, 'the consumer has every ack');
  });

  it('notifies PROJECTED_CHANNEL with `<projection> <last_seq>` as each batch commits, never for a rolled-back one', async () => {
    const listener = new Client({ connectionString: pg.url });
    await listener.connect();
    // What the checkpoint row says when each notification arrives: the batch it announces is committed.
    const heard: { payload: string; committed: Promise<string | undefined> }[] = [];
    listener.on('notification', (note) => {
      if (note.channel !== PROJECTED_CHANNEL || !note.payload?.startsWith(`${table} `)) return;
      heard.push({ payload: note.payload, committed: checkpointRow(db, table).then((row) => row?.last_seq) });
    });
    await listener.query(`listen ${PROJECTED_CHANNEL}`);
    try {
      await appendEvents(nc, 250);
      let failures = 1;
      const runner = await start({
        batchSize: 100,
        lingerMs: 2_000,
        projection: {
          ...rowsProjection(table),
          async project(batch: readonly ProjectedMessage[], trx) {
            await rowsProjection(table).project(batch, trx, undefined);
            if (failures-- > 0) throw new Error('the first try of the first batch fails');
          },
        },
      });
      await until(() => runner.checkpoint() === 250, 'all 250 are applied');
      await until(() => heard.length === 3, 'three batches are announced');
      assert.deepEqual(
        heard.map((one) => one.payload),
        [`${table} 100`, `${table} 200`, `${table} 250`],
        'one notification per committed batch, none for the rolled-back try',
      );
      for (const one of heard) assert.ok(Number(await one.committed) >= Number(one.payload.split(' ')[1]));
    } finally {
      await listener.end();
    }
  });

  it('passes over the event types it does not take, moving its checkpoint past them', async () => {
    await appendEvents(nc, 60, { created: (i) => i % 3 === 0 });
    const runner = await start({ projection: rowsProjection(table, undefined, ['KeyCreated']) });
    await until(() => runner.checkpoint() === 60, 'all 60 are covered');
    const rows = await rowsOf(db, table);
    assert.equal(rows.length, 20);
    assert.ok(rows.every((row) => row.event_type === 'KeyCreated'));
  });

  it('prepares the next batch while the current one is written, hands each batch its own preparation, and prepares a failed one again', async () => {
    await appendEvents(nc, 300);
    const rows = rowsProjection(table);
    const span = (batch: readonly ProjectedMessage[]) => `${batch[0]?.seq}-${batch.at(-1)?.seq}`;
    const prepared: string[] = [];
    const handed: string[] = [];
    let secondPrepared: () => void = () => {};
    const overlapping = new Promise<void>((resolve) => {
      secondPrepared = resolve;
    });
    let firstTry = true;
    const projection: Projection<Database, string> = {
      ...rows,
      async prepare(batch) {
        prepared.push(span(batch));
        if (prepared.length === 2) secondPrepared();
        return `prepared ${span(batch)}`;
      },
      async project(batch, trx, preparation) {
        handed.push(`${span(batch)} got ${preparation}`);
        if (batch[0]?.seq === 1) {
          // The first batch's transaction stays open until the second batch is prepared: only an
          // overlapping runner gets there (one that prepares after committing would wait for ever).
          await overlapping;
          if (firstTry) {
            firstTry = false;
            throw new Error('the first try of the first batch fails');
          }
        }
        await rows.project(batch, trx, undefined);
      },
    };
    const runner = await runProjection({
      ...rowsRunnerOptions(nc, db, table),
      retryDelayMs: () => 50,
      projection,
      batchSize: 100,
      lingerMs: 2_000,
    });
    running.push(runner);
    await until(() => runner.checkpoint() === 300, 'all 300 are applied');
    assert.deepEqual(seqsOf(await rowsOf(db, table)), oneToN(300));
    assert.deepEqual(prepared.slice(0, 3), ['1-100', '101-200', '1-100'], 'the failed batch is prepared again');
    assert.deepEqual(prepared.slice(3), ['201-300']);
    assert.deepEqual(handed, [
      '1-100 got prepared 1-100',
      '1-100 got prepared 1-100',
      '101-200 got prepared 101-200',
      '201-300 got prepared 201-300',
    ]);
  });

  it('applies a redelivered message once: a batch held past the ack wait comes again and is skipped', async () => {
    await appendEvents(nc, 150);
    const registry = new Registry();
    let held = true;
    const runner = await start({
      ackWaitMs: 1_000,
      batchSize: 100,
      registry,
      projection: rowsProjection(table, async () => {
        // The first batch waits until NATS has given up on its ack and delivered it again.
        while (held) await new Promise((resolve) => setTimeout(resolve, 20));
      }),
    });
    await until(async () => (await consumerInfo()).num_redelivered > 0, 'NATS delivers the held messages again');
    held = false;
    await until(() => runner.checkpoint() === 150, 'all 150 are applied');
    await until(
      async () => ((await metricValue(registry, 'tessera_projection_redeliveries_skipped_total')) ?? 0) > 0,
      'redeliveries are skipped',
    );
    await appendEvents(nc, 10, { prefix: 'later' });
    await until(() => runner.checkpoint() === 160, 'later messages are applied');
    assert.deepEqual(seqsOf(await rowsOf(db, table)), oneToN(160));
    assert.equal(await metricValue(registry, 'tessera_projection_applied_total'), 160);
  });

  it('rolls a failed batch back and acks nothing; once it succeeds it is applied once, before anything later', async () => {
    await appendEvents(nc, 80);
    const registry = new Registry();
    let failing = true;
    let attempts = 0;
    const runner = await start({
      registry,
      projection: {
        ...rowsProjection(table),
        async project(batch: readonly ProjectedMessage[], trx) {
          attempts++;
          await rowsProjection(table).project(batch, trx, undefined); // its rows are written, then it throws
          if (failing) throw new Error('projection failed');
        },
      },
    });
    await until(() => attempts >= 3, 'the batch has been tried three times');
    assert.equal(runner.readiness.isReady(), false, 'not ready while a batch fails');
    assert.deepEqual(await rowsOf(db, table), [], 'nothing of the failed batch is kept');
    assert.equal((await checkpointRow(db, table))?.last_seq, '0');
    assert.equal((await consumerInfo()).ack_floor.stream_seq, 0, 'nothing acked');
    assert.ok(((await metricValue(registry, 'tessera_projection_failed_batches_total')) ?? 0) >= 3);

    await appendEvents(nc, 20, { prefix: 'later' });
    failing = false;
    await until(() => runner.checkpoint() === 100, 'all 100 are applied');
    assert.deepEqual(seqsOf(await rowsOf(db, table)), oneToN(100));
    assert.equal(runner.readiness.isReady(), true);
  });

  it('changes nothing after a crash between commit and ack: the next runner goes on after the checkpoint', async () => {
    await appendEvents(nc, 300);
    const crashing = await connect({ servers: nats.url });
    let batches = 0;
    const first = await start({
      nc: crashing,
      batchSize: 100,
      lingerMs: 2_000,
      projection: rowsProjection(table, async () => {
        // The second batch loses its connection before it commits: the commit happens, the ack cannot.
        if (++batches === 2) await crashing.close();
      }),
    });
    await first.done;
    assert.equal((await checkpointRow(db, table))?.last_seq, '200', 'the second batch committed');
    assert.equal((await consumerInfo()).ack_floor.stream_seq, 100, 'but was never acked');

    const second = await start();
    await until(() => second.checkpoint() === 300, 'the second runner applies the rest');
    assert.deepEqual(seqsOf(await rowsOf(db, table)), oneToN(300), 'every message exactly once');
  });

  it('rebuilds: empties the tables, replays the stream from its start, and gets identical rows', async () => {
    await appendEvents(nc, 200, { created: (i) => i % 7 === 0 });
    let applied = 0;
    const runner = await start({
      projection: rowsProjection(table, (batch) => {
        applied += batch.length;
      }),
    });
    await until(() => runner.checkpoint() === 200, 'all 200 are applied');
    const before = (await rowsOf(db, table)).map(({ applied: _, ...row }) => row);

    await runner.rebuild();
    await until(() => applied === 400, 'the stream is replayed');
    await until(() => runner.checkpoint() === 200, 'the checkpoint is back at the end');
    const rebuilt = (await rowsOf(db, table)).map(({ applied: _, ...row }) => row);
    assert.deepEqual(rebuilt, before);
  });

  it('replays after its checkpoint was set back from elsewhere (a reset by another process), at the next message', async () => {
    await appendEvents(nc, 50);
    const runner = await start();
    await until(() => runner.checkpoint() === 50, 'all 50 are applied');
    const before = (await rowsOf(db, table)).map(({ applied: _, ...row }) => row);

    await resetProjection(db, rowsProjection(table));
    assert.deepEqual(await rowsOf(db, table), []);
    await appendEvents(nc, 1, { prefix: 'after-reset' });
    await until(() => runner.checkpoint() === 51, 'the stream is replayed, the new message too');
    const rows = (await rowsOf(db, table)).map(({ applied: _, ...row }) => row);
    assert.deepEqual(rows.slice(0, 50), before);
    assert.deepEqual(seqsOf(rows), oneToN(51));
  });

  it("reports its lag: the stream's last sequence minus its checkpoint, on the registry given", async () => {
    await appendEvents(nc, 120);
    const registry = new Registry();
    let held = true;
    const runner = await start({
      registry,
      projection: rowsProjection(table, async () => {
        while (held) await new Promise((resolve) => setTimeout(resolve, 20));
      }),
    });
    assert.equal(await runner.lag(), 120);
    assert.equal(await metricValue(registry, 'tessera_projection_lag_events'), 120);
    held = false;
    await until(() => runner.checkpoint() === 120, 'all 120 are applied');
    assert.equal(await runner.lag(), 0);
    assert.equal(await metricValue(registry, 'tessera_projection_lag_events'), 0);
  });

  it('refuses to start on a checkpoint kept for another stream', async () => {
    await db
      .insertInto('projector_checkpoint')
      .values({ projection: table, stream: 'TESSERA_SHORT', last_seq: 10 })
      .execute();
    await assert.rejects(start(), CheckpointStreamMismatch);
  });
});

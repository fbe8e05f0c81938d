// Projection runner throughput: events applied per second by batch size, against a throwaway
// nats-server (sync_interval: always) and a PostgreSQL with fsync on, as production runs them.
// Run on demand: `pnpm build && pnpm --filter @tessera/db bench [events]`. Prints a table.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '@tessera/local-infra';
import { Registry } from 'prom-client';
import { migrateToLatest } from '../src/migrate.js';
import { openDatabase } from '../src/open-database.js';
import { runProjection } from '../src/projection/runner.js';
import {
  appendEvents,
  createProjectedTable,
  natsWithStreams,
  rowsRunnerOptions,
  silentLog,
} from '../test-support/fixtures.js';

const events = Number(process.argv[2] ?? 100_000);
const dataDir = await mkdtemp(join(tmpdir(), 'tessera-bench-pg-'));
const pg = await startPostgres({ dataDir, fsync: true, log: () => {} });
const db = await openDatabase({ url: pg.url, poolSize: 4 }, silentLog);
await migrateToLatest(db, silentLog);
const { nats, nc } = await natsWithStreams();

type Row = { batchSize: number; events: number; seconds: number; perSecond: number; rssMB: number };
const rows: Row[] = [];
try {
  const filled = performance.now();
  await appendEvents(nc, events);
  console.log(`appended ${events} events in ${((performance.now() - filled) / 1_000).toFixed(1)} s`);
  for (const batchSize of [100, 500, 1000]) {
    const table = `bench_${batchSize}`;
    await createProjectedTable(db, table);
    const started = performance.now();
    const runner = await runProjection({ ...rowsRunnerOptions(nc, db, table), batchSize, registry: new Registry() });
    while (runner.checkpoint() < events) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = (performance.now() - started) / 1_000;
    await runner.stop();
    rows.push({
      batchSize,
      events,
      seconds: Number(seconds.toFixed(2)),
      perSecond: Math.round(events / seconds),
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  }
  console.table(rows);
} finally {
  await nc.close();
  await nats.stop();
  await db.destroy();
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
}

// The associations projection: events applied per second, and a full rebuild, against a
// throwaway nats-server (sync_interval: always) and a PostgreSQL with fsync on. Every binding is
// sealed with its own data key, so every event costs the projector a key fetch, as in production.
// Run on demand: `pnpm build && pnpm --filter @tessera/projector bench [bindings]`. Prints a table.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openDatabase } from '@tessera/db';
import { connectNats, silentLogger } from '@tessera/event-store';
import { startPostgres } from '@tessera/local-infra';
import { provision } from '@tessera/nats-access';
import { startNats } from '@tessera/test-harness';
import { runAssociations } from '../src/projector.js';
import { rebuildAssociations } from '../src/rebuild.js';
import { TestDirectory } from '../test-support/directory-appender.js';

const bindings = Number(process.argv[2] ?? 100_000);
const dataDir = await mkdtemp(join(tmpdir(), 'tessera-bench-pg-'));
const pg = await startPostgres({ dataDir, fsync: true, log: () => {} });
const database = { url: pg.url, poolSize: 4 };
const db = await openDatabase(database, silentLogger);
await migrateToLatest(db, silentLogger);
const nats = await startNats();
const nc = await connectNats({ url: nats.url, name: 'projector-bench' });
await provision(nc);

const rows: Record<string, string | number>[] = [];
const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
try {
  const directory = await TestDirectory.on(nc);
  await directory.createPepper('bench', 'bench-pepper');
  const filled = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < bindings) {
        const i = next++;
        await directory.bind({ medium: 'email', address: `user${i}@bench.example`, mxid: `@u${i}:bench.example` });
      }
    }),
  );
  const fillSeconds = (performance.now() - filled) / 1_000;
  console.log(`appended ${bindings} sealed bindings in ${fillSeconds.toFixed(1)} s`);
  const events = bindings + 1;

  // 1. The projector replaying a backlog: events applied per second (key fetches included).
  const started = performance.now();
  const runner = await runAssociations({ nc, db, log: silentLogger });
  while (runner.checkpoint() < events) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - started) / 1_000;
  await runner.stop();
  rows.push({
    what: 'projector, backlog',
    events,
    seconds: seconds.toFixed(1),
    'events/s': Math.round(events / seconds),
    'RSS MB': rss(),
  });

  // 2. A full rebuild (tables emptied, stream replayed, under the lock) as `tessera projector rebuild` does it.
  const rebuilt = await rebuildAssociations({ nc, database, log: silentLogger });
  rows.push({
    what: 'rebuild (CLI path)',
    events,
    seconds: rebuilt.seconds,
    'events/s': Math.round(events / rebuilt.seconds),
    'RSS MB': rss(),
  });
  console.table(rows);
  const perMillion = (1_000_000 / (events / rebuilt.seconds)).toFixed(0);
  console.log(`a rebuild of 1,000,000 associations at this rate: ~${perMillion} s`);
} finally {
  await nc.close();
  await nats.stop();
  await db.destroy();
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
}

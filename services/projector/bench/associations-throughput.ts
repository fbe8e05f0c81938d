// The associations projection: events applied per second, and a full rebuild, against a
// throwaway nats-server (sync_interval: always) and a PostgreSQL with fsync on. Every binding is
// sealed with its own data key (made before its event is appended, as the directory does).
// Run on demand: `pnpm build && pnpm --filter @tessera/projector bench [bindings] [in flight]`.
// Prints a table, with the load average before each run.
//
// Generating is test tooling, not what is measured: the bindings are appended to the same store
// by a nats-server without `sync_interval: always` (an fsync per write caps appends near 2,000/s
// on this machine), many at once; the server is then started again on that store as in production.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openDatabase } from '@tessera/db';
import { connectNats, silentLogger } from '@tessera/event-store';
import { findNatsServerBinary, startNatsServer, startPostgres } from '@tessera/local-infra';
import { provision } from '@tessera/nats-access';
import { runAssociations } from '../src/projector.js';
import { rebuildAssociations } from '../src/rebuild.js';
import { TestDirectory } from '../test-support/directory-appender.js';

const bindings = Number(process.argv[2] ?? 100_000);
// Bindings appended at once while generating (test tooling: the directory appends one per request).
const inFlight = Number(process.argv[3] ?? 512);
// The backlog run's batch size (the rebuild runs with the projector's default).
const batchSize = process.env.BATCH_SIZE === undefined ? undefined : Number(process.env.BATCH_SIZE);
const dataDir = await mkdtemp(join(tmpdir(), 'tessera-bench-pg-'));
const pg = await startPostgres({ dataDir, fsync: true, log: () => {} });
const database = { url: pg.url, poolSize: 4 };
const db = await openDatabase(database, silentLogger);
await migrateToLatest(db, silentLogger);
const natsDir = await mkdtemp(join(tmpdir(), 'tessera-bench-nats-'));
const natsServer = (binary?: string) => startNatsServer({ dataDir: natsDir, log: () => {}, ...(binary && { binary }) });

/** The same nats-server, started on a copy of its configuration without the fsync of every write. */
async function unsyncedNatsBinary(): Promise<string> {
  const wrapper = join(natsDir, 'nats-server-unsynced.sh');
  const real = await findNatsServerBinary();
  // Called as `<binary> -c <config>`.
  const script = `#!/bin/sh\ngrep -v sync_interval "$2" > "$2.unsynced" && exec ${JSON.stringify(real)} -c "$2.unsynced"\n`;
  await writeFile(wrapper, script);
  await chmod(wrapper, 0o700);
  return wrapper;
}

const rows: Record<string, string | number>[] = [];
const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const load = () => loadavg()[0]?.toFixed(2) ?? '';
/** This process's CPU time since `from` (user + system), in microseconds per event. */
const cpuPerEvent = (from: NodeJS.CpuUsage, events: number) => {
  const { user, system } = process.cpuUsage(from);
  return Math.round((user + system) / events);
};
let nats = await natsServer(await unsyncedNatsBinary());
let nc = await connectNats({ url: nats.url, name: 'projector-bench' });
try {
  await provision(nc);
  const directory = await TestDirectory.on(nc);
  await directory.createPepper('bench', 'bench-pepper');
  const filled = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bindings) {
        const i = next++;
        await directory.bind({ medium: 'email', address: `user${i}@bench.example`, mxid: `@u${i}:bench.example` });
      }
    }),
  );
  const fillSeconds = (performance.now() - filled) / 1_000;
  console.log(`appended ${bindings} sealed bindings in ${fillSeconds.toFixed(1)} s`);
  await nc.close();
  await nats.stop();
  nats = await natsServer(); // sync_interval: always, as in production
  nc = await connectNats({ url: nats.url, name: 'projector-bench' });
  const events = bindings + 1;

  // 1. The projector replaying a backlog: events applied per second (key fetches included).
  const loadBefore = load();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const runner = await runAssociations({ nc, db, log: silentLogger, ...(batchSize && { batchSize }) });
  while (runner.checkpoint() < events) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - started) / 1_000;
  const { fromMemory, fetched, mostHeld } = runner.keyStats();
  await runner.stop();
  console.log(`backlog keys: ${fromMemory} from the followed stream, ${fetched} fetched, at most ${mostHeld} held`);
  rows.push({
    what: 'projector, backlog',
    'load before': loadBefore,
    events,
    seconds: seconds.toFixed(1),
    'events/s': Math.round(events / seconds),
    'node CPU µs/event': cpuPerEvent(cpuBefore, events),
    'RSS MB': rss(),
  });

  // 2. A full rebuild (tables emptied, stream replayed, under the lock) as `tessera projector rebuild` does it.
  const rebuildLoad = load();
  const rebuildCpu = process.cpuUsage();
  const rebuilt = await rebuildAssociations({ nc, database, log: silentLogger });
  rows.push({
    what: 'rebuild (CLI path)',
    'load before': rebuildLoad,
    events,
    seconds: rebuilt.seconds,
    'events/s': Math.round(events / rebuilt.seconds),
    'node CPU µs/event': cpuPerEvent(rebuildCpu, events),
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
  await rm(natsDir, { recursive: true, force: true });
}

// handleCommand (load + decide + append) throughput against a throwaway nats-server (sync_interval: always).
// Run on demand: `pnpm build && pnpm --filter @tessera/event-store bench [count]`. Prints a table.
import { startNats } from '@tessera/test-harness';
import { connectNats } from '../src/connect.js';
import { EventStore } from '../src/event-store.js';
import { handleCommand } from '../src/handle-command.js';
import { ensureStreams } from '../src/streams.js';
import { subjectOf } from '../src/subjects.js';
import { keyRevoked, notes } from '../test-support/fixtures.js';

const count = Number(process.argv[2] ?? 1_000);
const nats = await startNats();
const nc = await connectNats({ url: nats.url, name: 'bench' });
await ensureStreams(await nc.jetstreamManager());
const store = new EventStore(nc);
let run = 0;

type Row = {
  workload: string;
  inFlight: number;
  calls: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
};
const rows: Row[] = [];

async function measure(workload: string, inFlight: number, history: number): Promise<void> {
  run++;
  const subjects = Array.from({ length: count }, (_, i) => subjectOf('session', `bench-${run}-${i}`));
  for (const subject of history > 0 ? subjects : [])
    for (let seq = 0, i = 0; i < history; i++)
      seq = await store.append(subject, [keyRevoked(`h${i}`)], { expectedSeq: seq, correlationId: 'bench' });
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < subjects.length) {
        const subject = subjects[next++] as string;
        const t = performance.now();
        const note = async ({ state }: { state: { notes: string[] } }) => ({ note: `after ${state.notes.length}` });
        await handleCommand(store, subject, notes, note, { correlationId: 'bench' });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number((latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2));
  rows.push({
    workload,
    inFlight,
    calls: count,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(count / seconds),
    p50ms: at(0.5),
    p99ms: at(0.99),
  });
}

try {
  for (const inFlight of [1, 20]) {
    await measure('new aggregate (empty load)', inFlight, 0);
    await measure('aggregate with 3 decisions', inFlight, 3);
  }
  console.table(rows);
} finally {
  await nc.close();
  await nats.stop();
}

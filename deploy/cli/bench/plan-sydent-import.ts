// `pnpm --filter @tessera/cli bench:plan <sydent.db> <sydent.conf> [--now ms]`: runs the import's
// planning (what --dry-run does: read the snapshot, decide, sanitize) on a Sydent database and prints
// a table per category: time, rows per second, and the process's peak resident memory.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/sydent/config-parser.js';
import { plannedCategories } from '../src/sydent/plan.js';
import { type Category, type Planned, PlanReport } from '../src/sydent/plan-report.js';
import { openSydentSnapshot } from '../src/sydent/sydent-db.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { now: { type: 'string' } } });
const [dbFile, confFile] = positionals;
if (dbFile === undefined || confFile === undefined)
  throw new Error('usage: plan-sydent-import <sydent.db> <sydent.conf> [--now ms]');
const serverName = parseConfig(readFileSync(confFile, 'utf8')).get('general', 'server.name') ?? '';
const now = values.now === undefined ? Date.now() : Number(values.now);
const report = new PlanReport();
const context = { serverName, now, report };

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
const rows: string[] = [];
const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
const started = performance.now();
const snapshot = openSydentSnapshot(dbFile);
const measure = (category: Category, plan: () => Iterable<Planned<unknown>>) => {
  const begin = performance.now();
  let count = 0;
  for (const _ of plan()) {
    count++;
    if ((count & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - begin) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const rate = seconds === 0 ? '–' : Math.round(count / seconds).toLocaleString('en');
  rows.push(
    `| ${category} | ${count.toLocaleString('en')} | ${report.leftOut[category].total.toLocaleString('en')} | ${seconds.toFixed(2)} s | ${rate} | ${mb(peakRss)} |`,
  );
};
for (const [category, planned] of plannedCategories(snapshot, context)) measure(category, planned);
snapshot.close();
clearInterval(sampler);
const total = (performance.now() - started) / 1000;
console.log(`planning ${dbFile} (server ${serverName}, --now ${now}) on Node ${process.version}\n`);
console.log('| category | planned | left out | time | items/s | peak RSS so far |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log(`\ntotal ${total.toFixed(1)} s, peak RSS ${mb(peakRss)}`);

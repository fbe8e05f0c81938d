// Benchmark of issue 11's import target on the whole running system (run on demand, not a test):
// `tessera import sydent` of a Sydent database (a synthetic one from `pnpm --filter @tessera/cli
// bench:generate`) into a fresh system started by the local runner: the config stage, then the
// data stage timed per category from the CLI's progress lines, each request answered only once the
// projector has applied it (so "imported" means findable). Prints a table, the CPU each process
// spent, and the summary the CLI printed.
// Usage: pnpm build && pnpm --filter @tessera/e2e bench:sydent-import <sydent.db> <sydent.conf>
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '@tessera/local-infra';
import { importSummaryOf } from '../system/import-summary.js';
import { REPO_ROOT } from '../system/repo-root.js';
import { removeDataDir, startSystem, tempDataDir } from '../system/running-system.js';
import { cpuByProcess, rssByProcess } from './process-cpu.js';

const [db, conf] = process.argv.slice(2);
if (db === undefined || conf === undefined) {
  process.stderr.write('usage: sydent-import.js <sydent.db> <sydent.conf>\n');
  process.exit(64);
}
const CLI = join(REPO_ROOT, 'deploy/cli/dist/main.js');
/** The progress lines' category names, as the closing table labels them. */
const LABELS: Record<string, string> = { ephemeralKeys: 'ephemeral keys', accounts: 'account tokens' };

type Timed = { code: number | null; out: string; lines: { at: number; text: string }[] };

/** `tessera <args>`, each stderr line time-stamped as it arrives. */
function tessera(args: string[], env: Record<string, string>): Promise<Timed> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    let rest = '';
    const lines: Timed['lines'] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const text of parts) {
        lines.push({ at: performance.now(), text });
        process.stderr.write(`  | ${text}\n`);
      }
    });
    child.on('exit', (code) => resolve({ code, out, lines }));
  });
}

const files = mkdtempSync(join(tmpdir(), 'tessera-sydent-bench-'));
const dataDir = tempDataDir();
const adminListen = `127.0.0.1:${await freePort('127.0.0.1')}`;
const env = { TESSERA_DATA_DIR: dataDir, TESSERA_DIRECTORY_ADMIN_LISTEN: adminListen };
const yaml = join(files, 'tessera.yaml');
const args = ['import', 'sydent', '--db', db, '--config', conf, '--out', yaml];

const config = await tessera([...args, '--stage', 'config'], env);
if (config.code !== 0) throw new Error(`config stage failed (${config.code}):\n${config.out}`);
const system = await startSystem({
  dataDir,
  env: { TESSERA_CONFIG: yaml, TESSERA_DIRECTORY_ADMIN_LISTEN: adminListen, TESSERA_RATE_LIMITS: 'off' },
});
try {
  const load = loadavg()[0]?.toFixed(2);
  const cpuBefore = cpuByProcess(system.runner.pid as number);
  const started = performance.now();
  const data = await tessera([...args, '--stage', 'data'], env);
  // 1: done, with refused items (listed in the summary); anything else: it stopped.
  if (data.code !== 0 && data.code !== 1) throw new Error(`the data stage failed (${data.code}):\n${data.out}`);
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuByProcess(system.runner.pid as number);
  const rss = rssByProcess(system.runner.pid as number);

  // Each category starts with "<category>: reading and sending to <service>…".
  const starts = data.lines.flatMap(({ at, text }) => {
    const match = /^([A-Za-z]+): reading and sending to /.exec(text);
    return match ? [{ category: LABELS[match[1] as string] ?? (match[1] as string), at }] : [];
  });
  const summary = importSummaryOf(data.out);
  const end = started + seconds * 1000;
  const rows = starts.map(({ category, at }, i) => {
    const until = starts[i + 1]?.at ?? end;
    const [planned = 0, imported = 0, present = 0, refused = 0] = summary[category] ?? [];
    const s = (until - at) / 1000;
    return `| ${category} | ${planned} | ${imported} | ${present} | ${refused} | ${s.toFixed(1)} | ${Math.round((imported + present) / s)} |`;
  });
  const cpu = [...cpuAfter].map(
    ([name, cpuSeconds]) => `${name} ${(cpuSeconds - (cpuBefore.get(name) ?? 0)).toFixed(0)} s`,
  );
  process.stdout.write(
    [
      `tessera import sydent --stage data of ${db}: exit ${data.code}, ${seconds.toFixed(1)} s in all (load average ${load} before)`,
      '',
      '| category | planned | imported | present | refused | seconds | items/s |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `CPU spent during the data stage: ${cpu.join(', ')}`,
      `RSS after: ${[...rss].map(([name, mb]) => `${name} ${Math.round(mb)} MB`).join(', ')}`,
      '',
    ].join('\n'),
  );
} finally {
  await system.stop();
  removeDataDir(dataDir);
  rmSync(files, { recursive: true, force: true });
}

// Benchmark of issue 9's directory targets on the whole running system (run on demand, not a test):
// seeds N associations with `tessera directory import`, then drives the HTTP API on loopback with
// wrk: GET pubkey, v1 lookup, v2 hashed lookup of one and of 1000 hashes, v1 bulk_lookup of 1000;
// then times binds over prepared validated sessions and a `tessera projector rebuild`; prints the
// rates, p50/p99, the CPU each process spent per request and the resident memory of each process.
// Usage: pnpm build && pnpm --filter @tessera/e2e bench:directory [N] [seconds] [connections] [binds]
// Needs wrk on PATH (apt-get install -y wrk).
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { lookupHash } from '@tessera/lookup-hash';
import { loadSpec, observedFetch } from '../spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from '../system/flows.js';
import { startOutsideWorld } from '../system/outside-world.js';
import { REPO_ROOT } from '../system/repo-root.js';
import { type RunningSystem, removeDataDir, serviceLogLines, startSystem } from '../system/running-system.js';
import { cpuByProcess, cpuPerRequest, rssByProcess } from './process-cpu.js';
import { type WrkResult, wrk } from './wrk.js';

const N = Number(process.argv[2] ?? 10_000);
const SECONDS = Number(process.argv[3] ?? 15);
const CONNECTIONS = Number(process.argv[4] ?? 32);
const BINDS = Number(process.argv[5] ?? 200);
const WARMUP_SECONDS = 5;
/** Distinct hashes the single hashed lookup picks from; bodies of 1000 the batched ones cycle through. */
const SINGLE_HASHES = Math.min(N, 10_000);
const BATCH = 1000;
const BATCH_BODIES = 10;
const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const CLI = join(REPO_ROOT, 'deploy/cli/dist/main.js');
const run = promisify(execFile);

const addressOf = (i: number) => `bench${i}@bench.example`;
const randomIndex = () => Math.floor(Math.random() * N);

/** The import file: one association per line, written as a stream (N may be a million). */
async function writeImportFile(file: string): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < N; i++) {
    const line = `${JSON.stringify({ medium: 'email', address: addressOf(i), mxid: `@u${i}:bench.example` })}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** `tessera <args>` as an operator runs it against this system; its output. */
async function tessera(system: RunningSystem, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', TESSERA_DATA_DIR: system.dataDir, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** Lua: each wrk thread draws its own random sequence. */
const SEED_EACH_THREAD = [
  'local threads = 0',
  'function setup(thread) threads = threads + 1; thread:set("id", threads) end',
  'function init(args) math.randomseed(os.time() * 100 + id) end',
];

/** A wrk Lua script that POSTs one of `bodies` (JSON) at random, with `headers`. */
function postScript(path: string, bodies: string[], headers: Record<string, string>): string {
  const lua = (text: string) => JSON.stringify(text); // a JSON string is a valid Lua string literal here (ASCII)
  return [
    `local bodies = {${bodies.map(lua).join(',\n')}}`,
    `wrk.method = "POST"`,
    ...Object.entries({ 'content-type': 'application/json', ...headers }).map(
      ([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`,
    ),
    ...SEED_EACH_THREAD,
    `request = function() return wrk.format(nil, ${lua(path)}, nil, bodies[math.random(#bodies)]) end`,
  ].join('\n');
}

/** v1 lookup of a random seeded address: the index is drawn in Lua, so N can be large. */
const v1LookupScript = () =>
  [
    ...SEED_EACH_THREAD,
    `request = function() return wrk.format("GET", "${V1}/lookup?medium=email&address=bench" .. math.random(0, ${N - 1}) .. "%40bench.example") end`,
  ].join('\n');

const rowOf = (scenario: string, result: WrkResult, cpu: { name: string; ms: number }[], target: string) => ({
  scenario,
  'req/s': Math.round(result.perSecond),
  'p50 ms': result.p50.toFixed(2),
  'p99 ms': result.p99.toFixed(2),
  failed: result.failed,
  'CPU ms/req (top 3)': cpu
    .slice(0, 3)
    .map(({ name, ms }) => `${name} ${ms.toFixed(3)}`)
    .join(', '),
  target,
});

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

const loadBefore = loadavg().map((value) => value.toFixed(2));
const world = await startOutsideWorld();
const system = await startSystem({
  env: { ...world.env, TESSERA_RATE_LIMITS: 'off' },
  readyTimeoutMs: 180_000,
});
try {
  const root = system.runner.pid ?? 0;
  const call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
  const user = await registerUser(call, world); // a v2 account, terms accepted

  // 1. Seed N associations through the import command (the real event path).
  const importFile = join(system.dataDir, 'bench-import.jsonl');
  await writeImportFile(importFile);
  const logFrom = system.output.length;
  const importStarted = performance.now();
  const imported = await tessera(system, ['directory', 'import', importFile]);
  const importSeconds = (performance.now() - importStarted) / 1000;
  if (!imported.startsWith(`imported ${N}, failed 0`)) throw new Error(`import: ${imported}`);
  const appendedMs = Number(
    serviceLogLines(system, logFrom).find((line) => line.msg === 'import appended; waiting for the projector')?.ms,
  );
  console.log(
    `imported ${N} in ${importSeconds.toFixed(1)} s (${Math.round(N / importSeconds)}/s end to end; ` +
      `appended in ${(appendedMs / 1000).toFixed(1)} s: ${Math.round(N / (appendedMs / 1000))}/s)`,
  );

  // 2. Lookups with wrk.
  const scripts = join(system.dataDir, 'bench-lua');
  await mkdir(scripts, { recursive: true });
  const { lookup_pepper: pepper } = (await (
    await fetch(`${system.baseUrl}${V2}/hash_details`, { headers: bearer(user.token) })
  ).json()) as { lookup_pepper: string };
  const hashOf = (i: number) => lookupHash(addressOf(i), 'email', pepper);
  const v2Body = (hashes: string[]) => JSON.stringify({ addresses: hashes, algorithm: 'sha256', pepper });
  const batches = Array.from({ length: BATCH_BODIES }, () => Array.from({ length: BATCH }, randomIndex));
  const scenarioScripts = {
    v1: v1LookupScript(),
    v2: postScript(
      `${V2}/lookup`,
      Array.from({ length: SINGLE_HASHES }, () => v2Body([hashOf(randomIndex())])),
      bearer(user.token),
    ),
    v2Batch: postScript(
      `${V2}/lookup`,
      batches.map((batch) => v2Body(batch.map(hashOf))),
      bearer(user.token),
    ),
    v1Bulk: postScript(
      `${V1}/bulk_lookup`,
      batches.map((batch) => JSON.stringify({ threepids: batch.map((i) => ['email', addressOf(i)]) })),
      {},
    ),
  };
  for (const [name, text] of Object.entries(scenarioScripts)) await writeFile(join(scripts, `${name}.lua`), text);
  // Each script's answers are checked once by hand before the load: a 200 with a mapping found.
  const probe = await call<{ mappings: Record<string, string> }>(
    `${V2}/lookup`,
    json({ addresses: [hashOf(0)], algorithm: 'sha256', pepper }, bearer(user.token)),
  );
  if (probe.body.mappings[hashOf(0)] !== '@u0:bench.example') throw new Error(`v2 lookup: ${probe.text}`);

  const scenarios: [string, string, string | undefined, string][] = [
    ['GET pubkey', `${system.baseUrl}${V2}/pubkey/ed25519:0`, undefined, '≥ 6,000/s, p99 ≤ 10 ms'],
    ['v1 lookup (random address)', system.baseUrl, 'v1', '≥ 6,000/s, p99 ≤ 10 ms'],
    ['v2 lookup, 1 hash (random)', system.baseUrl, 'v2', '≥ 4,000/s, p99 ≤ 20 ms'],
    ['v2 lookup, 1000 hashes', system.baseUrl, 'v2Batch', '≥ 150/s, p50 ≤ 30 ms'],
    ['v1 bulk_lookup, 1000', system.baseUrl, 'v1Bulk', '≥ 150/s'],
  ];
  const rows = [];
  for (const [name, url, script, target] of scenarios) {
    const options = { connections: CONNECTIONS, ...(script ? { script: join(scripts, `${script}.lua`) } : {}) };
    await wrk(url, { ...options, seconds: WARMUP_SECONDS });
    const before = cpuByProcess(root);
    const result = await wrk(url, { ...options, seconds: SECONDS });
    rows.push(rowOf(name, result, cpuPerRequest(before, cpuByProcess(root), result.requests), target));
  }

  // 3. Binds: BINDS sessions validated through the mail's link first, then the binds alone timed,
  // CONNECTIONS at a time, each answered once lookups see it (read-your-writes).
  const sessions: { sid: string; clientSecret: string }[] = [];
  for (let i = 0; i < BINDS; i += 16) {
    const made = await Promise.all(
      Array.from({ length: Math.min(16, BINDS - i) }, async (_, j) => {
        const address = `binder${i + j}@bench.example`;
        const clientSecret = newClientSecret();
        const sentAfter = Date.now();
        const requested = await call<{ sid: string }>(
          `${V2}/validate/email/requestToken`,
          json({ client_secret: clientSecret, email: address, send_attempt: 1 }, bearer(user.token)),
        );
        if (requested.status !== 200) throw new Error(`requestToken: ${requested.text}`);
        const { link } = await mailTo(world.smtp, address, sentAfter);
        if ((await fetch(link)).status !== 200) throw new Error('the mail link did not validate');
        return { sid: requested.body.sid, clientSecret };
      }),
    );
    sessions.push(...made);
  }
  const bindLatencies: number[] = [];
  let bindFailures = 0;
  const bindBefore = cpuByProcess(root);
  const bindsStarted = performance.now();
  const queue = [...sessions];
  await Promise.all(
    Array.from({ length: Math.min(CONNECTIONS, queue.length) }, async () => {
      for (let session = queue.shift(); session !== undefined; session = queue.shift()) {
        const started = performance.now();
        const res = await fetch(`${system.baseUrl}${V2}/3pid/bind`, {
          ...json({ sid: session.sid, client_secret: session.clientSecret, mxid: user.userId }, bearer(user.token)),
        });
        await res.arrayBuffer();
        if (res.status === 200) bindLatencies.push(performance.now() - started);
        else bindFailures++;
      }
    }),
  );
  const bindSeconds = (performance.now() - bindsStarted) / 1000;
  bindLatencies.sort((a, b) => a - b);
  rows.push({
    scenario: `v2 bind (${BINDS} prepared sessions, ${CONNECTIONS} at a time)`,
    'req/s': Math.round(bindLatencies.length / bindSeconds),
    'p50 ms': percentile(bindLatencies, 0.5).toFixed(2),
    'p99 ms': percentile(bindLatencies, 0.99).toFixed(2),
    failed: bindFailures,
    'CPU ms/req (top 3)': cpuPerRequest(bindBefore, cpuByProcess(root), BINDS)
      .slice(0, 3)
      .map(({ name, ms }) => `${name} ${ms.toFixed(3)}`)
      .join(', '),
    target: '—',
  });

  // 4. The projector: a full rebuild, as the projector identity, replays every event.
  const state = system.state();
  const rebuilt = await tessera(system, ['projector', 'rebuild'], {
    TESSERA_NATS_URL: state.natsUrl ?? '',
    TESSERA_NATS_CREDENTIALS_FILE: join(system.dataDir, 'nats/identities/projector.nk'),
    TESSERA_DATABASE_URL: state.databaseUrl ?? '',
  });
  const upTo = Number(/up to stream sequence (\d+)/.exec(rebuilt)?.[1]);
  const rebuildSeconds = Number(/in ([\d.]+) s/.exec(rebuilt)?.[1]);

  console.log(
    `\nDirectory, N = ${N.toLocaleString('en')} associations, wrk -t2 -c${CONNECTIONS}, ${SECONDS} s per scenario ` +
      `after ${WARMUP_SECONDS} s of warm-up; load average before: ${loadBefore.join(' ')}`,
  );
  console.table(rows);
  console.log(
    `import of ${N.toLocaleString('en')}: ${importSeconds.toFixed(1)} s end to end (${Math.round(N / importSeconds)}/s), ` +
      `appends done after ${(appendedMs / 1000).toFixed(1)} s (${Math.round(N / (appendedMs / 1000))}/s); ` +
      'target: 1,000,000 in ≤ 180 s',
  );
  console.log(
    `projector rebuild: ${upTo} stream events replayed in ${rebuildSeconds} s ` +
      `(${Math.round(upTo / rebuildSeconds)} events/s); target ≥ 20,000 events/s, 1,000,000 in ≤ 120 s`,
  );
  console.log('\nresident memory (MB) at the end:');
  console.table(Object.fromEntries([...rssByProcess(root)].map(([name, mb]) => [name, { 'RSS MB': Math.round(mb) }])));
} finally {
  await system.stop();
  await world.close();
  removeDataDir(system.dataDir);
}

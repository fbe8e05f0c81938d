// Benchmark of issue 3's targets on the whole running system (run on demand, not a test):
//   1. requestToken with a fast SMTP server: requests per second, each mail sent once;
//   2. with an SMTP server that takes 100 ms per mail: GET pubkey latency during a requestToken load.
// Usage: pnpm build && pnpm --filter @tessera/e2e bench [requests] [concurrency] [warm-up requests]
// The warm-up runs at full load first: the first 15 s or so are slower (the JIT has not compiled
// the hot paths yet, heaps are still growing), and a server runs for days, not seconds.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startFakeHomeserver } from '@tessera/test-harness';
import { type RunningSystem, removeDataDir, startSystem } from '../system/running-system.js';
import { openLeanConnection } from './lean-http.js';
import { cpuByProcess, cpuPerRequest, machineCpu } from './process-cpu.js';
import { startSmtpSink } from './smtp-sink.js';

const REQUESTS = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = Number(process.argv[3] ?? 96);
const WARMUP = Number(process.argv[4] ?? 5000);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function send(base: string, method: string, path: string, body?: unknown, token?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

async function accountOn(system: RunningSystem, homeserver: Awaited<ReturnType<typeof startFakeHomeserver>>) {
  homeserver.addOpenIdToken('bench-openid', `@bench:${homeserver.serverName}`);
  const res = await send(system.baseUrl, 'POST', '/_matrix/identity/v2/account/register', {
    access_token: 'bench-openid',
    token_type: 'Bearer',
    matrix_server_name: homeserver.serverName,
    expires_in: 3600,
  });
  if (res.status !== 200) throw new Error(`register: ${res.status} ${res.text}`);
  return (JSON.parse(res.text) as { token: string }).token;
}

/** Runs `total` requestTokens with `concurrency` in flight; returns timings and failures. */
async function requestTokenLoad(base: string, token: string, total: number, concurrency: number, tag: string) {
  const connections = await Promise.all(Array.from({ length: concurrency }, () => openLeanConnection(base)));
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    connections.map(async (connection) => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        const body = {
          client_secret: `bench-${tag}-${i}`,
          email: `user${i}-${tag}@bench.example.org`,
          send_attempt: 1,
        };
        const res = await connection.request(
          'POST',
          '/_matrix/identity/v2/validate/email/requestToken',
          headers,
          JSON.stringify(body),
        );
        latencies.push(performance.now() - t0);
        if (res.status !== 200) failures += 1;
      }
      connection.close();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    perSecond: total / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
  };
}

async function pubkeyLatencies(base: string, until: () => boolean) {
  const latencies: number[] = [];
  while (until()) {
    const t0 = performance.now();
    const res = await send(base, 'GET', '/_matrix/identity/v2/pubkey/ed25519:0');
    if (res.status === 200) latencies.push(performance.now() - t0);
    await new Promise((ok) => setTimeout(ok, 5));
  }
  return latencies.sort((a, b) => a - b);
}

async function withSystem<T>(
  smtpDelayMs: number,
  run: (system: RunningSystem, token: string, sink: Awaited<ReturnType<typeof startSmtpSink>>) => Promise<T>,
) {
  const sink = await startSmtpSink({ delayMs: smtpDelayMs });
  const homeserver = await startFakeHomeserver();
  const system = await startSystem({
    env: {
      TESSERA_SMTP_URL: sink.url,
      // BENCH_RATE_LIMITS=on counts every request in the shared counters, under limits too high to hit.
      ...(process.env.BENCH_RATE_LIMITS === 'on'
        ? { TESSERA_RATE_LIMITS: 'on', TESSERA_RATE_LIMIT_USER: '100000000/3600s' }
        : { TESSERA_RATE_LIMITS: 'off' }),
      TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8',
      TESSERA_OUTBOUND_VERIFY_TLS: 'false',
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_DELIVERY_WAIT_MS: '30000',
      ...(process.env.BENCH_NATS_URL ? { TESSERA_NATS_URL: process.env.BENCH_NATS_URL } : {}),
    },
  });
  try {
    return await run(system, await accountOn(system, homeserver), sink);
  } finally {
    await system.stop();
    removeDataDir(system.dataDir);
    await homeserver.close();
    await sink.close();
  }
}

// BENCH_SCENARIO=fast or slow runs one of the two; BENCH_NATS_URL points every run at an outside NATS;
// BENCH_RATE_LIMITS=on keeps the rate limits on (see withSystem).
const scenario = process.env.BENCH_SCENARIO ?? 'all';

const fast =
  scenario === 'slow'
    ? undefined
    : await withSystem(0, async (system, token, sink) => {
        const warmup = await requestTokenLoad(system.baseUrl, token, WARMUP, CONCURRENCY, 'warmup');
        const cpuBefore = {
          system: cpuByProcess(system.runner.pid ?? 0),
          bench: process.cpuUsage(),
          machine: machineCpu(),
        };
        const result = await requestTokenLoad(system.baseUrl, token, REQUESTS, CONCURRENCY, 'fast');
        const cpuAfter = {
          system: cpuByProcess(system.runner.pid ?? 0),
          bench: process.cpuUsage(),
          machine: machineCpu(),
        };
        const benchMs =
          (cpuAfter.bench.user + cpuAfter.bench.system - cpuBefore.bench.user - cpuBefore.bench.system) / 1000;
        const busy = cpuAfter.machine.busy - cpuBefore.machine.busy;
        const idle = cpuAfter.machine.idle - cpuBefore.machine.idle;
        const cpu = [
          ...cpuPerRequest(cpuBefore.system, cpuAfter.system, REQUESTS),
          { name: 'load generator + SMTP sink', ms: benchMs / REQUESTS },
          { name: 'whole machine', ms: (busy * 1000) / REQUESTS },
        ];
        await new Promise((ok) => setTimeout(ok, 1_000));
        const benchMails = [...sink.received].filter(([to]) => to.endsWith('-fast@bench.example.org'));
        return {
          ...result,
          warmupPerSecond: warmup.perSecond,
          cpu,
          idlePercent: (100 * idle) / (busy + idle),
          mails: benchMails.reduce((sum, [, n]) => sum + n, 0),
          // Over every address of the run, the warm-up's included.
          repeated: [...sink.received].filter(([, n]) => n > 1).length,
        };
      });

const slow =
  scenario === 'fast'
    ? undefined
    : await withSystem(100, async (system, token) => {
        const idle = await (async () => {
          const stopAt = performance.now() + 3_000;
          return pubkeyLatencies(system.baseUrl, () => performance.now() < stopAt);
        })();
        let loading = true;
        const during = pubkeyLatencies(system.baseUrl, () => loading);
        const load = await requestTokenLoad(system.baseUrl, token, 600, CONCURRENCY, 'slow');
        loading = false;
        const busy = await during;
        return { idle, busy, load };
      });

if (fast) {
  console.log(
    `\nrequestToken with a fast SMTP server (${REQUESTS} requests, ${CONCURRENCY} in flight, after ${WARMUP} to warm up)`,
  );
  console.table([
    {
      'requests/s': Math.round(fast.perSecond),
      'p50 ms': fast.p50.toFixed(1),
      'p99 ms': fast.p99.toFixed(1),
      failed: fast.failures,
      'mails received': fast.mails,
      'addresses mailed twice': fast.repeated,
    },
  ]);
  console.log(`(the warm-up ran at ${Math.round(fast.warmupPerSecond)}/s)`);
  console.log(`CPU per request (ms), machine ${fast.idlePercent.toFixed(0)} % idle during the run`);
  console.table(Object.fromEntries(fast.cpu.map(({ name, ms }) => [name, { 'CPU ms': ms.toFixed(2) }])));
}
if (slow) {
  console.log(
    `\nGET pubkey while requestToken runs against an SMTP server taking 100 ms per mail (${CONCURRENCY} in flight)`,
  );
  console.table([
    {
      phase: 'idle',
      samples: slow.idle.length,
      'p50 ms': percentile(slow.idle, 0.5).toFixed(2),
      'p99 ms': percentile(slow.idle, 0.99).toFixed(2),
    },
    {
      phase: 'during load',
      samples: slow.busy.length,
      'p50 ms': percentile(slow.busy, 0.5).toFixed(2),
      'p99 ms': percentile(slow.busy, 0.99).toFixed(2),
    },
  ]);
  console.log(
    `requestToken under the slow server: ${Math.round(slow.load.perSecond)}/s, p50 ${slow.load.p50.toFixed(0)} ms, failed ${slow.load.failures}`,
  );
}
agent.destroy();

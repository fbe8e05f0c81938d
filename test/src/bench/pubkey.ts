// Benchmark of issue 9's pubkey target on the whole running system (run on demand, not a test):
// GET /pubkey/ed25519:0 and GET /pubkey/isvalid driven by wrk (the load generator the issue's
// Sydent figures were taken with) at 32 connections: requests per second, p50/p99, and the CPU
// each process spent per request.
// Usage: pnpm build && pnpm --filter @tessera/e2e bench:pubkey [seconds] [connections] [warm-up seconds]
// Needs wrk on PATH (apt-get install -y wrk).
import { removeDataDir, startSystem } from '../system/running-system.js';
import { cpuByProcess, cpuPerRequest } from './process-cpu.js';
import { wrk } from './wrk.js';

const SECONDS = Number(process.argv[2] ?? 20);
const CONNECTIONS = Number(process.argv[3] ?? 32);
const WARMUP_SECONDS = Number(process.argv[4] ?? 10);

const system = await startSystem({ env: { TESSERA_RATE_LIMITS: 'off' } });
try {
  const { public_key: publicKey } = (await (
    await fetch(`${system.baseUrl}/_matrix/identity/v2/pubkey/ed25519:0`)
  ).json()) as { public_key: string };
  const scenarios = {
    'GET pubkey/ed25519:0': `${system.baseUrl}/_matrix/identity/v2/pubkey/ed25519:0`,
    'GET pubkey/isvalid': `${system.baseUrl}/_matrix/identity/v2/pubkey/isvalid?public_key=${encodeURIComponent(publicKey)}`,
    // The gateway's floor: Express, the access log and the metrics, and no answer to look up.
    'GET /v2 (no lookup)': `${system.baseUrl}/_matrix/identity/v2`,
  };
  const rows = [];
  for (const [name, url] of Object.entries(scenarios)) {
    await wrk(url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS }); // the JIT compiles the hot paths; heaps settle
    const before = cpuByProcess(system.runner.pid ?? 0);
    const result = await wrk(url, { seconds: SECONDS, connections: CONNECTIONS });
    const cpu = cpuPerRequest(before, cpuByProcess(system.runner.pid ?? 0), result.requests);
    rows.push({
      scenario: name,
      'requests/s': Math.round(result.perSecond),
      'p50 ms': result.p50.toFixed(2),
      'p99 ms': result.p99.toFixed(2),
      failed: result.failed,
      'gateway CPU ms/request': (cpu.find((entry) => entry.name === 'gateway')?.ms ?? 0).toFixed(3),
      'signing CPU ms/request': (cpu.find((entry) => entry.name === 'signing')?.ms ?? 0).toFixed(3),
    });
  }
  console.log(`\nGET pubkey, wrk -t2 -c${CONNECTIONS}, ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up`);
  console.table(rows);
} finally {
  await system.stop();
  removeDataDir(system.dataDir);
}

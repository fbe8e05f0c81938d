import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { loadSpec, observedFetch } from './spec/spec-validator.js';
import { json, newClientSecret } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { REPO_ROOT } from './system/repo-root.js';
import { eventually, freePort, type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

const GATEWAY_MAIN = join(REPO_ROOT, 'services/gateway/dist/main.js');
const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let replica: ChildProcess | undefined;

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({ env: { ...world.env, TESSERA_RATE_LIMITS: 'on', TESSERA_RATE_LIMIT_IP: '3/3600s' } });
});
after(async () => {
  replica?.kill('SIGTERM');
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

/** A second gateway replica, configured exactly as the runner configured the first, on its own ports. */
async function startSecondGateway(): Promise<string> {
  const first = system.state().services.gateway?.pid;
  assert.ok(first, 'the runner started a gateway');
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${first}/environ`, 'utf8').split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const port = await freePort();
  env.TESSERA_HTTP_PORT = String(port);
  env.TESSERA_METRICS_LISTEN = `127.0.0.1:${await freePort()}`;
  replica = spawn(process.execPath, [GATEWAY_MAIN], { env, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/_matrix/identity/v2`)).ok, 15_000, 'the second gateway');
  return url;
}

it('shares requestToken limits between two gateway replicas', async () => {
  const second = await startSecondGateway();
  const replicas = [observedFetch(spec, { baseUrl: system.baseUrl }), observedFetch(spec, { baseUrl: second })];
  const statuses: number[] = [];
  let refused: { errcode?: string; retry_after_ms?: number } | undefined;
  for (let i = 0; i < 4; i += 1) {
    const call = replicas[i % 2];
    assert.ok(call);
    const res = await call<{ errcode?: string; retry_after_ms?: number }>(
      '/_matrix/identity/api/v1/validate/email/requestToken',
      json({ client_secret: newClientSecret(), email: `limited-${i}-${Date.now()}@example.org`, send_attempt: 1 }),
    );
    statuses.push(res.status);
    if (res.status === 429) refused = res.body;
  }
  assert.deepEqual(statuses, [200, 200, 200, 429], 'the fourth request, on either replica, is over the limit of 3');
  assert.equal(refused?.errcode, 'M_LIMIT_EXCEEDED');
  assert.ok((refused?.retry_after_ms ?? 0) > 0, 'says when to retry');
});

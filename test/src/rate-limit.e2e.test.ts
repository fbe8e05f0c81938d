import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadSpec, observedFetch } from './spec/spec-validator.js';
import { json, newClientSecret } from './system/flows.js';
import { type GatewayReplica, startGatewayReplica } from './system/gateway-replica.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let replica: GatewayReplica | undefined;

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({ env: { ...world.env, TESSERA_RATE_LIMITS: 'on', TESSERA_RATE_LIMIT_IP: '3/3600s' } });
});
after(async () => {
  replica?.stop();
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

it('shares requestToken limits between two gateway replicas', async () => {
  replica = await startGatewayReplica(system);
  const replicas = [observedFetch(spec, { baseUrl: system.baseUrl }), observedFetch(spec, { baseUrl: replica.url })];
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

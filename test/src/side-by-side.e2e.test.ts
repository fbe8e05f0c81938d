import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { loadSpec, observedFetch } from './spec/spec-validator.js';
import { type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

const spec = loadSpec();
const systems: RunningSystem[] = [];

after(async () => {
  await Promise.all(systems.map((system) => system.stop()));
  for (const system of systems) removeDataDir(system.dataDir);
});

it('runs two instances side by side, given different data directories and HTTP ports', async () => {
  systems.push(...(await Promise.all([startSystem(), startSystem()])));
  const [first, second] = systems;
  assert.ok(first && second);
  assert.notEqual(first.baseUrl, second.baseUrl);
  const keys = [];
  for (const system of systems) {
    const res = await observedFetch(spec, { baseUrl: system.baseUrl })<{ public_key: string }>(
      '/_matrix/identity/v2/pubkey/ed25519:0',
    );
    assert.equal(res.status, 200);
    keys.push(res.body.public_key);
  }
  assert.notEqual(keys[0], keys[1], 'each instance has its own key store');
  const [a, b] = [first.state(), second.state()];
  assert.notEqual(a.natsUrl, b.natsUrl);
  assert.notEqual(a.databaseUrl, b.databaseUrl);
});

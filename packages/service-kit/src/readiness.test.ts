import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { notStarted, type ReadinessReport, readinessOf } from './readiness.js';

const servers: AdminServer[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function readyz(readiness: () => ReadinessReport) {
  const server = await startAdminServer({ host: '127.0.0.1', port: 0 }, new Registry(), readiness);
  servers.push(server);
  const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('readiness', () => {
  it('is ready when every named check is, and names the ones that fail', () => {
    let signing = true;
    const report = readinessOf([
      { name: 'signing', isReady: () => signing },
      { name: 'session', isReady: () => true },
    ]);
    assert.deepEqual(report(), { ready: true, failing: [] });
    signing = false;
    assert.deepEqual(report(), { ready: false, failing: ['signing'] });
  });

  it('answers /readyz 503 naming the failing checks, 200 when all pass', async () => {
    assert.deepEqual(await readyz(() => ({ ready: false, failing: ['signing', 'nats'] })), {
      status: 503,
      body: { status: 'not ready', failing: ['signing', 'nats'] },
    });
    assert.deepEqual(await readyz(() => ({ ready: true, failing: [] })), {
      status: 200,
      body: { status: 'ready', failing: [] },
    });
  });

  it('shows the state of the checks that tell one (a projector active or standing by)', async () => {
    let role = 'standby';
    const report = readinessOf([
      { name: 'nats', isReady: () => true },
      { name: 'projector', isReady: () => true, state: () => role },
    ]);
    assert.deepEqual(report(), { ready: true, failing: [], states: { projector: 'standby' } });
    role = 'active';
    assert.deepEqual(await readyz(report), {
      status: 200,
      body: { status: 'ready', failing: [], states: { projector: 'active' } },
    });
  });

  it('answers 503 naming `starting` before the checks exist', async () => {
    assert.deepEqual(await readyz(notStarted), { status: 503, body: { status: 'not ready', failing: ['starting'] } });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startNats } from '@tessera/test-harness';
import { connect } from 'nats';
import { natsReadiness } from './connection-readiness.js';

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('natsReadiness', () => {
  it('is ready while connected, not while the server is down, ready again once reconnected, and not once closed', async () => {
    const nats = await startNats();
    try {
      const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const readiness = natsReadiness(nc);
      assert.equal(readiness.name, 'nats');
      assert.equal(readiness.isReady(), true);
      nats.kill();
      await until(() => !readiness.isReady(), 'not ready');
      await nats.restart();
      await until(() => readiness.isReady(), 'ready again');
      await nc.close();
      assert.equal(readiness.isReady(), false);
    } finally {
      await nats.stop();
    }
  });
});

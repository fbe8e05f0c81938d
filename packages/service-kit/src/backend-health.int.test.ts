import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChannelCredentials } from '@grpc/grpc-js';
import { SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import { captureLogs } from '@tessera/test-harness';
import { type BackendHealth, watchBackendHealth } from './backend-health.js';
import { startGrpcServer } from './grpc-server.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';

const SERVICE = 'tessera.signing.v1.SigningService';
const watches: BackendHealth[] = [];
after(() => {
  for (const watch of watches) watch.close();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a backend watched through its gRPC health service', () => {
  it('is ready while it serves, not once it stops, and says so once each way', async () => {
    const { log } = captureLogs((out) => createLogger('backend', 'silent', out));
    const server = await startGrpcServer({
      listen: { host: '127.0.0.1', port: 0 },
      services: [{ name: SERVICE, definition: SigningServiceService, implementation: {} }],
      tls: null,
      allowedClients: [],
      log,
      metrics: createMetrics('backend-test'),
    });
    const watcher = captureLogs((out) => createLogger('gateway', 'info', out));
    const watch = watchBackendHealth({
      name: 'signing',
      target: `127.0.0.1:${server.port}`,
      credentials: ChannelCredentials.createInsecure(),
      service: SERVICE,
      log: watcher.log,
      intervalMs: 50,
    });
    watches.push(watch);
    assert.equal(watch.isReady(), false, 'not ready before the first answer');
    await until(() => watch.isReady(), 'the backend is seen serving');
    await server.stop(1_000);
    await until(() => !watch.isReady(), 'the stopped backend is seen down');
    await new Promise((resolve) => setTimeout(resolve, 200)); // more failed checks: still one line
    assert.deepEqual(
      watcher.lines.map((line) => [line.level, line.msg, line.backend]),
      [
        ['info', 'backend serving', 'signing'],
        ['warn', 'backend not serving', 'signing'],
      ],
    );
  });
});

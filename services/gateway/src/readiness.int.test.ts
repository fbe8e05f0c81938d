import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChannelCredentials } from '@grpc/grpc-js';
import { loadConfig } from '@tessera/config';
import { DirectoryServiceService } from '@tessera/proto/tessera/directory/v1/directory';
import { InviteServiceService } from '@tessera/proto/tessera/invite/v1/invite';
import { SessionServiceService } from '@tessera/proto/tessera/session/v1/session';
import { SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import {
  createLogger,
  createMetrics,
  type RunningGrpcServer,
  readinessOf,
  startGrpcServer,
} from '@tessera/service-kit';
import { captureLogs } from '@tessera/test-harness';
import { type GatewayReadiness, gatewayReadiness } from './readiness.js';

const { log } = captureLogs((out) => createLogger('gateway-test', 'silent', out));
const running: RunningGrpcServer[] = [];
let readiness: GatewayReadiness | undefined;
after(async () => {
  readiness?.close();
  await Promise.all(running.map((server) => server.stop(500)));
});

// A backend as the gateway sees it: a gRPC server whose health service lists the service it serves.
async function backend(
  name: string,
  definition:
    | typeof SigningServiceService
    | typeof SessionServiceService
    | typeof DirectoryServiceService
    | typeof InviteServiceService,
) {
  const server = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 },
    services: [{ name, definition, implementation: {} }],
    tls: null,
    allowedClients: [],
    log,
    metrics: createMetrics('readiness-test'),
  });
  running.push(server);
  return server;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the gateway's readiness", () => {
  it('fails, naming the check, while a backend is down, and while a further check fails', async () => {
    const signing = await backend('tessera.signing.v1.SigningService', SigningServiceService);
    const session = await backend('tessera.session.v1.SessionService', SessionServiceService);
    const directory = await backend('tessera.directory.v1.DirectoryService', DirectoryServiceService);
    const invite = await backend('tessera.invite.v1.InviteService', InviteServiceService);
    const config = loadConfig({
      TESSERA_SIGNING_ADDR: `127.0.0.1:${signing.port}`,
      TESSERA_SESSION_ADDR: `127.0.0.1:${session.port}`,
      TESSERA_DIRECTORY_ADDR: `127.0.0.1:${directory.port}`,
      TESSERA_INVITE_ADDR: `127.0.0.1:${invite.port}`,
    });
    let natsUp = true;
    readiness = gatewayReadiness(config, ChannelCredentials.createInsecure(), log);
    const report = readinessOf([...readiness.checks, { name: 'nats', isReady: () => natsUp }]);
    await until(() => report().ready, 'every backend is seen serving');

    natsUp = false;
    assert.deepEqual(report(), { ready: false, failing: ['nats'] });
    natsUp = true;

    await signing.stop(500);
    await until(() => !report().ready, 'signing is seen down');
    assert.deepEqual(report(), { ready: false, failing: ['signing'] });

    await invite.stop(500);
    await until(() => report().failing.includes('invite'), 'invite is seen down');
    assert.deepEqual(report(), { ready: false, failing: ['signing', 'invite'] });
  });
});

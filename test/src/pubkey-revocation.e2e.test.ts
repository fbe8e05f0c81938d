import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { createDeadlineClient } from '@tessera/service-kit';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { type GatewayReplica, startGatewayReplica } from './system/gateway-replica.js';
import { REPO_ROOT } from './system/repo-root.js';
import {
  eventually,
  type RunningSystem,
  removeDataDir,
  serviceLogLines,
  startSystem,
} from './system/running-system.js';

const CLI_MAIN = join(REPO_ROOT, 'deploy/cli/dist/main.js');
const run = promisify(execFile);
const spec = loadSpec();
let system: RunningSystem;
let replica: GatewayReplica | undefined;

before(async () => {
  system = await startSystem({ env: { TESSERA_RATE_LIMITS: 'off' } });
});
after(async () => {
  replica?.stop();
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
});

/** A signing client presenting the gateway's certificate from the runner's development PKI. */
function signingClient() {
  const pki = join(system.dataDir, 'pki');
  const credentials = ChannelCredentials.createSsl(
    readFileSync(join(pki, 'ca.pem')),
    readFileSync(join(pki, 'gateway-key.pem')),
    readFileSync(join(pki, 'gateway.pem')),
  );
  const port = system.state().services.signing?.grpcPort;
  assert.ok(port, 'the runner says where signing listens');
  return createDeadlineClient(SigningServiceClient, `127.0.0.1:${port}`, credentials, 5_000, {
    serviceName: 'signing',
  });
}

async function signingReadyz(): Promise<{ httpStatus: number; failing?: string[] }> {
  const port = system.state().services.signing?.metricsPort;
  assert.ok(port, 'the runner says where signing serves /readyz');
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const { failing } = (await res.json()) as { failing?: string[] };
  return { httpStatus: res.status, failing };
}

/** `tessera keys revoke` as an operator runs it, with the signing identity's credentials. */
function revoke(keyId: string) {
  const natsUrl = system.state().natsUrl;
  assert.ok(natsUrl);
  return run(process.execPath, [CLI_MAIN, 'keys', 'revoke', keyId, '--reason', 'end-to-end test'], {
    env: {
      PATH: process.env.PATH ?? '',
      TESSERA_NATS_URL: natsUrl,
      TESSERA_NATS_CREDENTIALS_FILE: join(system.dataDir, 'nats', 'identities', 'signing.nk'),
    },
  });
}

it('stops vouching for and signing with a revoked key, on every gateway and in signing, once `tessera keys revoke` has run, without a restart', async (t) => {
  replica = await startGatewayReplica(system);
  const signing = signingClient();
  t.after(() => signing.close());
  const signingPid = system.state().services.signing?.pid;
  const gateways: ObservedFetch[] = [system.baseUrl, replica.url].map((baseUrl) => observedFetch(spec, { baseUrl }));
  const first = gateways[0];
  assert.ok(first);
  const key = await first<{ public_key: string }>('/_matrix/identity/v2/pubkey/ed25519:0');
  assert.equal(key.status, 200);
  const publicKey = key.body.public_key;
  const isValid = `/pubkey/isvalid?public_key=${encodeURIComponent(publicKey)}`;
  for (const call of gateways)
    for (const tree of ['v2', 'api/v1']) {
      assert.deepEqual((await call(`/_matrix/identity/${tree}${isValid}`)).body, { valid: true });
      assert.deepEqual((await call(`/_matrix/identity/${tree}/pubkey/ed25519:0`)).body, { public_key: publicKey });
    }
  assert.equal((await signing.isValid({ publicKey })).valid, true);
  assert.ok(await signing.signJson({ json: '{"mxid":"@alice:example.org"}', keyId: '' }));
  assert.equal((await signingReadyz()).httpStatus, 200);

  const { stdout } = await revoke('ed25519:0');
  const revokedAt = Date.now();
  assert.match(stdout, /revoked ed25519:0/);

  // Polled until each gateway says so: the time it took is reported, not raced against.
  const tookMs = await Promise.all([
    ...gateways.map(async (call) => {
      for (;;) {
        const res = await call<{ valid: boolean }>(`/_matrix/identity/v2${isValid}`);
        if (res.body.valid === false) return Date.now() - revokedAt;
        assert.ok(Date.now() - revokedAt < 10_000, 'the revocation reaches every gateway');
      }
    }),
    (async () => {
      for (;;) {
        if ((await signing.isValid({ publicKey })).valid === false) return Date.now() - revokedAt;
        assert.ok(Date.now() - revokedAt < 10_000, 'the revocation reaches signing');
      }
    })(),
  ]);
  t.diagnostic(
    `isvalid false after ${tookMs.slice(0, -1).join(' ms and ')} ms; signing's IsValid after ${tookMs.at(-1)} ms`,
  );

  // Signing's only key is revoked: it signs with nothing (the bind flows' SignJson), and says why.
  const refused = await signing.signJson({ json: '{"mxid":"@alice:example.org"}', keyId: '' }).then(
    () => assert.fail('signed with a revoked key'),
    (err: ServiceError) => err,
  );
  assert.equal(refused.code, status.UNAVAILABLE);
  const notFound = await signing.getPublicKey({ keyId: 'ed25519:0' }).then(
    () => assert.fail('GetPublicKey gave a revoked key'),
    (err: ServiceError) => err,
  );
  assert.equal(notFound.code, status.NOT_FOUND);
  const readyz = await signingReadyz();
  assert.equal(readyz.httpStatus, 503);
  assert.deepEqual(readyz.failing, ['valid signing key']);
  assert.equal(system.state().services.signing?.pid, signingPid, 'signing was not restarted');
  // The log line travels through the runner's pipe: it may come a moment after the answers.
  const revokedLine = () =>
    serviceLogLines(system).find((line) => line.msg === 'signing key revoked: no longer used or vouched for');
  await eventually(async () => revokedLine() !== undefined, 10_000, 'signing to log the revocation');
  assert.equal(revokedLine()?.keyId, 'ed25519:0');
  assert.equal(revokedLine()?.reason, 'end-to-end test');
  for (const call of gateways)
    for (const tree of ['v2', 'api/v1']) {
      assert.deepEqual((await call(`/_matrix/identity/${tree}${isValid}`)).body, { valid: false });
      const gone = await call<{ errcode: string }>(`/_matrix/identity/${tree}/pubkey/ed25519:0`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.errcode, 'M_NOT_FOUND');
    }

  const again = await revoke('ed25519:0');
  assert.match(again.stdout, /revoked already/);
});

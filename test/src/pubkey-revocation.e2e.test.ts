import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { type GatewayReplica, startGatewayReplica } from './system/gateway-replica.js';
import { REPO_ROOT } from './system/repo-root.js';
import { type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

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

it('stops vouching for a revoked key on every gateway, once `tessera keys revoke` has run', async (t) => {
  replica = await startGatewayReplica(system);
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

  const { stdout } = await revoke('ed25519:0');
  const revokedAt = Date.now();
  assert.match(stdout, /revoked ed25519:0/);

  // Polled until each gateway says so: the time it took is reported, not raced against.
  const tookMs = await Promise.all(
    gateways.map(async (call) => {
      for (;;) {
        const res = await call<{ valid: boolean }>(`/_matrix/identity/v2${isValid}`);
        if (res.body.valid === false) return Date.now() - revokedAt;
        assert.ok(Date.now() - revokedAt < 10_000, 'the revocation reaches every gateway');
      }
    }),
  );
  t.diagnostic(`isvalid false after ${tookMs.join(' ms and ')} ms`);
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

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, encodeBase64 } from '@tessera/canonical-json';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { eventually, filesUnder, type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// The whole system as `scripts/dev.sh start` runs it: the runner, its own NATS and PostgreSQL,
// the signing service and the gateway. Every response is checked against the spec's schema.
const spec = loadSpec();
const DEADLINE_MS = 2_000; // TESSERA_GRPC_DEADLINE_MS's default

let system: RunningSystem;
let call: ObservedFetch;
let publicKey: string;

before(async () => {
  system = await startSystem();
  call = observedFetch(spec, { baseUrl: system.baseUrl });
});
after(async () => {
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
});

/** The seed in signing's key store, as the file holds it (Sydent's `ed25519 0 <seed>`). */
function storedSeed(): string {
  const line = readFileSync(join(system.dataDir, 'signing/signing.key'), 'utf8').trim().split('\n')[0] ?? '';
  const seed = line.split(' ')[2];
  assert.ok(seed, 'the key store holds a seed');
  return seed;
}

describe('the running system', () => {
  it('lists the spec versions it supports', async () => {
    const res = await call<{ versions: string[] }>('/_matrix/identity/versions');
    assert.equal(res.status, 200);
    assert.equal(res.matched, 'getVersions');
    assert.ok(res.body.versions.includes('v1.1'));
  });

  it('answers the status endpoints of both trees', async () => {
    const v2 = await call('/_matrix/identity/v2');
    const v1 = await call('/_matrix/identity/api/v1');
    assert.deepEqual([v2.status, v2.body, v1.status, v1.body], [200, {}, 200, {}]);
    assert.equal(v2.rule, 'documented');
    assert.equal(v1.rule, 'documented');
  });

  it('serves the long-term public key on both trees, the same 32-byte key', async () => {
    const v2 = await call<{ public_key: string }>('/_matrix/identity/v2/pubkey/ed25519:0');
    const v1 = await call<{ public_key: string }>('/_matrix/identity/api/v1/pubkey/ed25519:0');
    assert.equal(v2.status, 200);
    assert.equal(v2.matched, 'getPubKeyV2');
    assert.equal(v1.status, 200);
    assert.equal(v1.body.public_key, v2.body.public_key);
    assert.equal(decodeBase64(v2.body.public_key).length, 32);
    assert.doesNotMatch(v2.body.public_key, /[=\-_]/, 'unpadded standard base64');
    publicKey = v2.body.public_key;
  });

  it('answers an unknown key id with 404 M_NOT_FOUND', async () => {
    const res = await call<{ errcode: string }>('/_matrix/identity/v2/pubkey/ed25519:77');
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_NOT_FOUND');
    assert.equal(res.rule, 'documented');
  });

  it('says the key is valid and other keys are not, on both trees', async () => {
    for (const tree of ['v2', 'api/v1']) {
      const valid = await call<{ valid: boolean }>(
        `/_matrix/identity/${tree}/pubkey/isvalid?public_key=${encodeURIComponent(publicKey)}`,
      );
      assert.deepEqual([valid.status, valid.body], [200, { valid: true }]);
      const other = encodeBase64(new Uint8Array(32).fill(7));
      const invalid = await call<{ valid: boolean }>(`/_matrix/identity/${tree}/pubkey/isvalid?public_key=${other}`);
      assert.deepEqual([invalid.status, invalid.body], [200, { valid: false }]);
    }
  });

  it('answers unknown paths with 404 and wrong methods with 405, both M_UNRECOGNIZED', async () => {
    const unknown = await call<{ errcode: string }>('/_matrix/identity/v2/no/such/thing');
    assert.deepEqual([unknown.status, unknown.body.errcode, unknown.rule], [404, 'M_UNRECOGNIZED', 'unknown-endpoint']);
    const wrong = await call<{ errcode: string }>('/_matrix/identity/v2/pubkey/ed25519:0', { method: 'DELETE' });
    assert.deepEqual([wrong.status, wrong.body.errcode, wrong.rule], [405, 'M_UNRECOGNIZED', 'unknown-method']);
  });

  it('answers CORS preflights and sends CORS headers on every response', async () => {
    const preflight = await call('/_matrix/identity/v2/pubkey/ed25519:0', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.status, 200);
    const error = await call('/_matrix/identity/v2/nowhere');
    for (const res of [preflight, error]) assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });

  it('publishes the public key to the event stream and never the private key', () => {
    const seed = storedSeed();
    const seedBytes = Buffer.from(decodeBase64(seed));
    const store = filesUnder(join(system.dataDir, 'nats')).map((file) => readFileSync(file));
    assert.ok(
      store.some((bytes) => bytes.includes(publicKey)),
      'some stream file holds the KeyCreated event with the public key',
    );
    for (const bytes of store) {
      assert.equal(bytes.includes(seed), false, 'the seed in base64 is not in the stream');
      assert.equal(bytes.includes(seedBytes), false, 'the raw seed is not in the stream');
    }
  });

  it('gives the private key to no process but signing', () => {
    const seed = storedSeed();
    const keyFile = join(system.dataDir, 'signing/signing.key');
    const state = system.state();
    const signingPid = state.services.signing?.pid;
    assert.ok(signingPid, 'signing is running');
    const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(
      environ(signingPid).some((entry) => entry.startsWith('TESSERA_SIGNING_KEY_FILE=')),
      'signing is told where its key store is (the check below reads the right thing)',
    );

    const others = Object.entries(state.services).filter(([name]) => name !== 'signing');
    assert.ok(others.length > 0);
    for (const [name, { pid }] of [...others, ['runner', { pid: state.pid }] as const]) {
      assert.ok(pid, `${name} has a pid`);
      const env = environ(pid);
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      for (const text of [env.join('\n'), args]) {
        assert.equal(text.includes(seed), false, `${name}: the seed is not in its environment or arguments`);
        assert.equal(text.includes('TESSERA_SIGNING_KEY_FILE'), false, `${name}: no key store setting`);
        assert.equal(text.includes(keyFile), false, `${name}: the key store's path is not given to it`);
      }
      // Every file its configuration names: none holds the seed.
      for (const entry of env) {
        const [key, value = ''] = entry.split(/=(.*)/s);
        if (!key?.startsWith('TESSERA_') || !value.startsWith('/') || !existsSync(value)) continue;
        if (!statSync(value).isFile()) continue;
        assert.equal(readFileSync(value, 'utf8').includes(seed), false, `${name}: ${key} names no file with the seed`);
      }
    }
  });

  it('answers what it must ask signing with 503 JSON within the deadline while signing hangs, the keys it follows still, and recovers once signing is restarted', async () => {
    const before = system.state().services.signing;
    assert.ok(before?.pid);
    // Stopped, not killed: the runner would restart a dead signing within the second for which
    // the gateway remembers signing's last answer, and no call would ever fail.
    process.kill(before.pid, 'SIGSTOP');

    // A key id the event stream never mentioned is the one question left for signing.
    const unknownKey = '/_matrix/identity/v2/pubkey/ed25519:77';
    const stoppedAt = Date.now();
    let sawUnavailable = false;
    while (!sawUnavailable) {
      const started = Date.now();
      const res = await call<{ errcode?: string }>(unknownKey);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < DEADLINE_MS + 1_000, `answered in ${elapsed} ms, within the deadline`);
      if (res.status === 503) {
        sawUnavailable = true;
        assert.equal(res.body.errcode, 'M_UNKNOWN');
        assert.equal(res.rule, 'matrix-error');
      } else {
        // Signing's last answer serves for a second (unknown-keys.ts), then the gateway asks again.
        assert.equal(res.status, 404, 'until the gateway notices, the answer is 404 or 503, nothing else');
        assert.ok(Date.now() - stoppedAt < 15_000, 'signing hangs: a 503 comes soon');
        await new Promise((ok) => setTimeout(ok, 50));
      }
    }
    const known = await call<{ public_key?: string }>('/_matrix/identity/v2/pubkey/ed25519:0');
    assert.equal(known.status, 200, 'the key it learnt from the event stream needs no signing');
    assert.equal(known.body.public_key, publicKey);
    process.kill(before.pid, 'SIGKILL');

    await eventually(
      async () => (await call(unknownKey)).status === 404,
      20_000,
      'signing to answer again after the runner restarts it',
    );
    const after = system.state().services.signing;
    assert.notEqual(after?.pid, before.pid);
    assert.ok((after?.restarts ?? 0) >= 1);
  });

  it('keeps the same key across a restart, and stops every process it started', async () => {
    const pids = [system.state().pid, ...Object.values(system.state().services).map((s) => s.pid)];
    assert.equal(await system.stop(), 0);
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} stopped`);

    system = await startSystem({ dataDir: system.dataDir });
    call = observedFetch(spec, { baseUrl: system.baseUrl });
    const res = await call<{ public_key: string }>('/_matrix/identity/v2/pubkey/ed25519:0');
    assert.equal(res.status, 200);
    assert.equal(res.body.public_key, publicKey);
  });
});

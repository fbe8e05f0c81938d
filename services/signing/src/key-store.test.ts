import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { verifyJsonSignature } from '@tessera/canonical-json';
import { ConfigError } from '@tessera/config';
import { createLogger } from '@tessera/service-kit';
import { keyFilePath, openKeyStore } from './key-store.js';

// The spec's test vector (NOTES.md §1.4): this seed gives this public key.
const SPEC_SEED = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
const SPEC_PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OTHER_SEED = 'nL9bcqBI1DuuI9pPzUb6XQpGFnlTKa4YZLNpEwJ1m5o';

const silent = createLogger('signing-test', 'silent');

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger('signing-test', 'info', sink), lines };
}

const tempDir = () => mkdtemp(join(tmpdir(), 'tessera-signing-keys-'));

async function refusal(file: string): Promise<ConfigError> {
  try {
    await openKeyStore(file, silent);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the key file to be refused');
}

describe('the key store', () => {
  it('lives in <data dir>/signing/signing.key unless a file is named', () => {
    assert.equal(keyFilePath({ TESSERA_DATA_DIR: '/var/lib/tessera' }), '/var/lib/tessera/signing/signing.key');
    assert.equal(
      keyFilePath({ TESSERA_DATA_DIR: '/var/lib/tessera', TESSERA_SIGNING_KEY_FILE: '/run/secrets/key' }),
      '/run/secrets/key',
    );
  });

  it('generates ed25519:0 in a new 0600 file in a 0700 directory', async () => {
    const file = join(await tempDir(), 'signing', 'signing.key');
    const store = await openKeyStore(file, silent);
    assert.equal(store.created, true);
    assert.deepEqual(
      store.keys.map((key) => key.keyId),
      ['ed25519:0'],
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(file, '..'))).mode & 0o777, 0o700);
    assert.match(await readFile(file, 'utf8'), /^ed25519 0 [A-Za-z0-9+/]{43}\n$/);
  });

  it('reuses the file it made: the same public key after a restart', async () => {
    const file = join(await tempDir(), 'signing.key');
    const first = await openKeyStore(file, silent);
    const second = await openKeyStore(file, silent);
    assert.equal(second.created, false);
    assert.equal(second.get('ed25519:0')?.publicKeyBase64, first.get('ed25519:0')?.publicKeyBase64);
  });

  it('makes one key when two processes start on a missing file at once', async () => {
    const file = join(await tempDir(), 'signing.key');
    const stores = await Promise.all([openKeyStore(file, silent), openKeyStore(file, silent)]);
    assert.equal(stores.filter((store) => store.created).length, 1);
    assert.equal(stores[0]?.keys[0]?.publicKeyBase64, stores[1]?.keys[0]?.publicKeyBase64);
  });

  it('reads a Sydent/Synapse key file with several keys, in file order', async () => {
    const file = join(await tempDir(), 'signing.key');
    await writeFile(file, `ed25519 0 ${SPEC_SEED}\n\ned25519 a_Xy9 ${OTHER_SEED}=\n`, { mode: 0o600 });
    const store = await openKeyStore(file, silent);
    assert.equal(store.created, false);
    assert.deepEqual(
      store.keys.map((key) => key.keyId),
      ['ed25519:0', 'ed25519:a_Xy9'],
    );
    assert.equal(store.get('ed25519:0')?.publicKeyBase64, SPEC_PUBLIC_KEY);
    assert.equal(store.get('ed25519:1'), undefined);
  });

  it('signs with a key without handing out its seed', async () => {
    const file = join(await tempDir(), 'signing.key');
    await writeFile(file, `ed25519 1 ${SPEC_SEED}\n`, { mode: 0o600 });
    const [key] = (await openKeyStore(file, silent)).keys;
    assert.ok(key);
    // The spec's vector: {} signed by "domain" with this seed as ed25519:1.
    const signed = key.signJson({}, 'domain');
    assert.deepEqual(signed.signatures, {
      domain: {
        'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ',
      },
    });
    assert.ok(verifyJsonSignature(signed, { entity: 'domain', publicKey: key.publicKey }));
    for (const shown of [JSON.stringify(key), inspect(key, { depth: 5, showHidden: true })]) {
      assert.ok(!shown.includes(SPEC_SEED.slice(0, 20)), 'the seed must not show');
    }
  });

  for (const [what, content, line] of [
    ['a line with two fields', `ed25519 0 ${SPEC_SEED}\ned25519 ${OTHER_SEED}\n`, 2],
    ['another algorithm', `curve25519 0 ${OTHER_SEED}\n`, 1],
    ['a seed that is not base64', `ed25519 0 ${OTHER_SEED.slice(0, 40)}!!!\n`, 1],
    ['a seed of the wrong length', `\ned25519 0 ${OTHER_SEED.slice(0, 40)}\n`, 2],
    ['a version with a colon', `ed25519 0:1 ${OTHER_SEED}\n`, 1],
    ['the same key id twice', `ed25519 0 ${SPEC_SEED}\ned25519 0 ${OTHER_SEED}\n`, 2],
  ] as const) {
    it(`refuses ${what}, naming the file and line but not the seed`, async () => {
      const file = join(await tempDir(), 'signing.key');
      await writeFile(file, content, { mode: 0o600 });
      const err = await refusal(file);
      assert.ok(err.message.includes(`${file} line ${line}`), err.message);
      for (const seed of [SPEC_SEED, OTHER_SEED]) assert.ok(!err.message.includes(seed.slice(0, 12)), err.message);
    });
  }

  it('refuses a file without any key', async () => {
    const file = join(await tempDir(), 'signing.key');
    await writeFile(file, '# no key yet\n\n', { mode: 0o600 });
    assert.match((await refusal(file)).message, /holds no key/);
  });

  it('warns, without content, when group or others may read the file', async () => {
    const file = join(await tempDir(), 'signing.key');
    await writeFile(file, `ed25519 0 ${SPEC_SEED}\n`);
    await chmod(file, 0o644);
    const { log, lines } = capturingLogger();
    await openKeyStore(file, log);
    const warning = lines.find((line) => line.level === 'warn');
    assert.ok(warning, 'expected a warning');
    assert.equal(warning.mode, '0644');
    assert.ok(!JSON.stringify(lines).includes(SPEC_SEED.slice(0, 12)));
  });

  it('stays quiet about a 0600 file', async () => {
    const file = join(await tempDir(), 'signing.key');
    await writeFile(file, `ed25519 0 ${SPEC_SEED}\n`, { mode: 0o600 });
    const { log, lines } = capturingLogger();
    await openKeyStore(file, log);
    assert.equal(lines.filter((line) => line.level === 'warn').length, 0);
  });
});

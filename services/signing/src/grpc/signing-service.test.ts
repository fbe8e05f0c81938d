import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeBase64, encodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import { createLogger, createMetrics } from '@tessera/service-kit';
import { keyRing, NoValidSigningKey } from '../key-ring.js';
import { type KeyStore, openKeyStore } from '../key-store.js';
import { createSigningCounters } from '../metrics.js';
import { type SigningHandlers, signingHandlers } from './signing-service.js';

const SPEC_SEED = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
const SPEC_PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OLD_SEED = 'nL9bcqBI1DuuI9pPzUb6XQpGFnlTKa4YZLNpEwJ1m5o';
const SERVER_NAME = 'id.example.org';

async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TesseraError, `expected a TesseraError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to be refused');
}

let handlers: SigningHandlers;
let metrics: ReturnType<typeof createMetrics>;
let oldPublicKey: Uint8Array;
let keyStore: KeyStore;

before(async () => {
  const file = join(await mkdtemp(join(tmpdir(), 'tessera-signing-handlers-')), 'signing.key');
  await writeFile(file, `ed25519 0 ${SPEC_SEED}\ned25519 old ${OLD_SEED}\n`, { mode: 0o600 });
  keyStore = await openKeyStore(file, createLogger('signing-test', 'silent'));
  oldPublicKey = keyStore.get('ed25519:old')?.publicKey ?? new Uint8Array();
  metrics = createMetrics('signing-test');
  handlers = signingHandlers({
    serverName: SERVER_NAME,
    keys: keyRing(keyStore, new Set(['ed25519:0'])), // ed25519:old was revoked on the stream
    counters: createSigningCounters(metrics),
  });
});

describe('the signing handlers', () => {
  it('sign JSON under the server name with the current key, keeping other signatures and unsigned', async () => {
    const json = JSON.stringify({
      mxid: '@a:b',
      signatures: { 'other.org': { 'ed25519:x': 'sig' } },
      unsigned: { n: 1.5 },
    });
    const signed = JSON.parse((await handlers.signJson({ json, keyId: '' })).json);
    assert.deepEqual(Object.keys(signed.signatures).sort(), ['id.example.org', 'other.org']);
    assert.deepEqual(Object.keys(signed.signatures[SERVER_NAME]), ['ed25519:0']);
    assert.deepEqual(signed.unsigned, { n: 1.5 });
    assert.ok(verifyJsonSignature(signed, { entity: SERVER_NAME, publicKey: decodeBase64(SPEC_PUBLIC_KEY) }));
    const counted = await metrics.registry.getSingleMetricAsString('tessera_signing_signatures_total');
    assert.match(counted, /method="SignJson"[^\n]* [1-9]/);
  });

  for (const [what, json] of [
    ['text that is not JSON', '{"a":'],
    ['an array', '[1]'],
    ['null', 'null'],
    ['a float', '{"a":1.5}'],
    ['an integer out of the canonical range', '{"a":9007199254740993}'],
    ['signatures that are not an object', '{"signatures":"x"}'],
  ] as const) {
    it(`refuse ${what} with M_BAD_JSON`, async () => {
      assert.equal((await rejection(handlers.signJson({ json, keyId: '' }))).errcode, 'M_BAD_JSON');
    });
  }

  it('refuse an unknown or revoked key id with M_NOT_FOUND', async () => {
    for (const keyId of ['ed25519:9', 'ed25519:old'])
      assert.equal((await rejection(handlers.signJson({ json: '{}', keyId }))).errcode, 'M_NOT_FOUND');
    assert.equal((await rejection(handlers.getPublicKey({ keyId: 'ed25519:9' }))).errcode, 'M_NOT_FOUND');
  });

  it('list every key, revoked ones included', async () => {
    assert.equal((await handlers.listKeys({})).keys.length, 2);
  });

  it('give a valid public key by id, and a revoked one not at all (M_NOT_FOUND, as the gateway’s pubkey)', async () => {
    assert.deepEqual((await handlers.getPublicKey({ keyId: 'ed25519:0' })).key, {
      keyId: 'ed25519:0',
      publicKey: SPEC_PUBLIC_KEY,
      valid: true,
    });
    assert.equal((await rejection(handlers.getPublicKey({ keyId: 'ed25519:old' }))).errcode, 'M_NOT_FOUND');
    assert.equal((await handlers.getPublicKey({ keyId: '' })).key?.keyId, 'ed25519:0');
    const listed = (await handlers.listKeys({})).keys.find((key) => key.keyId === 'ed25519:old');
    assert.equal(listed?.valid, false, 'ListKeys still lists it, as revoked');
  });

  it('find a valid key in either alphabet, padded or not, and nothing in garbage or revoked keys', async () => {
    const bytes = decodeBase64(SPEC_PUBLIC_KEY);
    const forms = [SPEC_PUBLIC_KEY, `${SPEC_PUBLIC_KEY}=`, Buffer.from(bytes).toString('base64url')];
    for (const publicKey of forms) assert.equal((await handlers.isValid({ publicKey })).valid, true);
    const invalid = ['', 'not base64!', SPEC_PUBLIC_KEY.slice(0, 20), encodeBase64(oldPublicKey)];
    for (const publicKey of invalid) assert.equal((await handlers.isValid({ publicKey })).valid, false);
  });

  it('sign with a caller-supplied seed as ed25519:0 unless told otherwise', async () => {
    const { publicKey, privateKey } = await handlers.generateEphemeralKeypair({});
    assert.match(publicKey, /^[A-Za-z0-9_-]{43}$/);
    assert.match(privateKey, /^[A-Za-z0-9_-]{43}$/, 'the seed is unpadded URL-safe base64, as Sydent mails it');
    const signed = JSON.parse(
      (await handlers.signJsonWithSeed({ json: '{"token":"t"}', seed: privateKey, keyId: '' })).json,
    );
    assert.deepEqual(Object.keys(signed.signatures[SERVER_NAME]), ['ed25519:0']);
    assert.ok(verifyJsonSignature(signed, { entity: SERVER_NAME, publicKey: decodeBase64(publicKey) }));
    const labelled = JSON.parse(
      (await handlers.signJsonWithSeed({ json: '{}', seed: privateKey, keyId: 'ed25519:e1' })).json,
    );
    assert.deepEqual(Object.keys(labelled.signatures[SERVER_NAME]), ['ed25519:e1']);
  });

  it('sign alike with a seed in either base64 alphabet, padded or not (links mailed before keys were URL-safe)', async () => {
    const urlSafe = SPEC_SEED.replaceAll('+', '-').replaceAll('/', '_');
    assert.notEqual(urlSafe, SPEC_SEED, 'the spec seed has a character the alphabets spell differently');
    const signatures = [];
    for (const seed of [SPEC_SEED, `${SPEC_SEED}=`, urlSafe, `${urlSafe}=`]) {
      const signed = JSON.parse((await handlers.signJsonWithSeed({ json: '{"token":"t"}', seed, keyId: '' })).json);
      assert.ok(verifyJsonSignature(signed, { entity: SERVER_NAME, publicKey: decodeBase64(SPEC_PUBLIC_KEY) }), seed);
      signatures.push(signed.signatures[SERVER_NAME]['ed25519:0']);
    }
    assert.equal(new Set(signatures).size, 1);
  });

  it('refuse a seed that is not 32 bytes of base64, or a malformed key id, with M_INVALID_PARAM', async () => {
    for (const seed of ['', 'abc!', SPEC_SEED.slice(0, 40)]) {
      const err = await rejection(handlers.signJsonWithSeed({ json: '{}', seed, keyId: '' }));
      assert.equal(err.errcode, 'M_INVALID_PARAM');
    }
    const err = await rejection(handlers.signJsonWithSeed({ json: '{}', seed: SPEC_SEED, keyId: 'rsa:1' }));
    assert.equal(err.errcode, 'M_INVALID_PARAM');
  });
});

describe('the signing handlers, as keys are revoked while the service runs', () => {
  it('stop signing with and vouching for a revoked key at once, and sign with the next valid one', async () => {
    const ring = keyRing(keyStore); // both keys valid to begin with
    const running = signingHandlers({
      serverName: SERVER_NAME,
      keys: ring,
      counters: createSigningCounters(createMetrics('signing-test')),
    });
    assert.equal(ring.revoke('ed25519:0'), true);
    assert.equal(ring.revoke('ed25519:0'), false, 'a revocation is applied once');
    assert.equal((await rejection(running.signJson({ json: '{}', keyId: 'ed25519:0' }))).errcode, 'M_NOT_FOUND');
    assert.equal((await running.isValid({ publicKey: SPEC_PUBLIC_KEY })).valid, false);
    assert.equal((await rejection(running.getPublicKey({ keyId: 'ed25519:0' }))).errcode, 'M_NOT_FOUND');
    const signed = JSON.parse((await running.signJson({ json: '{}', keyId: '' })).json);
    assert.deepEqual(Object.keys(signed.signatures[SERVER_NAME]), ['ed25519:old']);
    assert.ok(verifyJsonSignature(signed, { entity: SERVER_NAME, publicKey: oldPublicKey }));
  });

  it('refuse to sign with the long-term key once every key is revoked (UNAVAILABLE, 503 to callers)', async () => {
    const ring = keyRing(keyStore);
    const running = signingHandlers({
      serverName: SERVER_NAME,
      keys: ring,
      counters: createSigningCounters(createMetrics('signing-test')),
    });
    for (const keyId of ['ed25519:0', 'ed25519:old']) ring.revoke(keyId);
    assert.equal(ring.current, undefined);
    await assert.rejects(running.signJson({ json: '{}', keyId: '' }), NoValidSigningKey);
    assert.equal((await rejection(running.getPublicKey({ keyId: '' }))).errcode, 'M_NOT_FOUND');
    assert.ok((await running.listKeys({})).keys.every((key) => !key.valid));
    // Invitations' ephemeral keys are not long-term keys: they still work.
    const { privateKey } = await running.generateEphemeralKeypair({});
    assert.ok(await running.signJsonWithSeed({ json: '{}', seed: privateKey, keyId: '' }));
  });
});

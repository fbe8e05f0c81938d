import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { decodeBase64, encodeBase64, generateSeed, verifyJsonSignature } from '@tessera/canonical-json';
import { type Config, loadConfig } from '@tessera/config';
import { createCa, type DevPkiFiles, ensureDevPki, issueCertificate } from '@tessera/dev-pki';
import { connectNats, decodeEnvelope, EventStore, handleCommand, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tessera/proto/grpc/health/v1/health';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import {
  createDeadlineClient,
  createLogger,
  createMetrics,
  type DeadlineClient,
  readinessOf,
  readTlsFiles,
} from '@tessera/service-kit';
import { type KeyCommand, KeyMismatch, storedKeys } from '@tessera/signing-keys';
import { startNats, startTcpRelay, type TestNats, waitUntil } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { openKeyStore } from './key-store.js';
import { type SigningServer, startSigningServer } from './signing-server.js';

const SERVER_NAME = 'id.example.org';
const KEY_SUBJECT = subjectOf('key', 'ed25519:0');

let dir: string;
let nats: TestNats;
let nc: NatsConnection;
let pki: DevPkiFiles;
let config: Config;
let server: SigningServer;
let signing: DeadlineClient<SigningServiceClient>;
const logLines: string[] = [];
const log = createLogger(
  'signing',
  'debug',
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

const read = (file: string) => readFile(file);

async function credentialsOf(service: string): Promise<ChannelCredentials> {
  const files = pki.services[service];
  assert.ok(files, `no certificate for ${service}`);
  return ChannelCredentials.createSsl(
    await read(pki.caCertFile),
    await read(files.keyFile),
    await read(files.certFile),
  );
}

const clientWith = (credentials: ChannelCredentials, port = server.port) =>
  createDeadlineClient(SigningServiceClient, `localhost:${port}`, credentials, 3_000);

const start = async (keyFile: string, connection = nc) =>
  startSigningServer({
    config: { ...config, TESSERA_SIGNING_KEY_FILE: keyFile },
    log,
    metrics: createMetrics('signing'),
    tls: readTlsFiles(config),
    keyStore: await openKeyStore(keyFile, log),
    nc: connection,
  });

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the call to fail');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-signing-int-'));
  nats = await startNats();
  nc = await connectNats({ url: nats.url, name: 'signing-int-test' });
  await provision(nc);
  pki = await ensureDevPki(join(dir, 'pki'), { services: ['signing', 'directory', 'projector'] });
  const serverFiles = pki.services.signing;
  assert.ok(serverFiles);
  config = loadConfig({
    TESSERA_SERVER_NAME: SERVER_NAME,
    TESSERA_DATA_DIR: dir,
    TESSERA_GRPC_LISTEN: '127.0.0.1:0',
    TESSERA_NATS_URL: nats.url,
    TESSERA_TLS_CA_FILE: pki.caCertFile,
    TESSERA_TLS_CERT_FILE: serverFiles.certFile,
    TESSERA_TLS_KEY_FILE: serverFiles.keyFile,
    TESSERA_SIGNING_ALLOWED_CLIENTS: 'directory,invite',
  });
  server = await start(join(dir, 'signing', 'signing.key'));
  signing = clientWith(await credentialsOf('directory'));
});

after(async () => {
  signing?.close();
  await server?.stop(1_000);
  await nc?.drain();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the signing service over mTLS, with NATS', () => {
  it('signs {"a":1} for an allowed client, verifiably with the key GetPublicKey gives', async () => {
    const { json } = await signing.signJson({ json: '{"a":1}', keyId: '' });
    const signed = JSON.parse(json);
    assert.equal(signed.a, 1);
    assert.deepEqual(Object.keys(signed.signatures), [SERVER_NAME]);
    const { key } = await signing.getPublicKey({ keyId: 'ed25519:0' });
    assert.ok(key?.valid);
    assert.ok(
      verifyJsonSignature(signed, { entity: SERVER_NAME, keyId: 'ed25519:0', publicKey: decodeBase64(key.publicKey) }),
    );
  });

  it('signs a batch in the order asked, each verifiable, and names the first object that is not JSON', async () => {
    const { key } = await signing.getPublicKey({ keyId: 'ed25519:0' });
    assert.ok(key);
    const { json } = await signing.signJsonBatch({ json: ['{"n":1}', '{"n":2}', '{"n":3}'], keyId: '' });
    assert.deepEqual(
      json.map((text) => JSON.parse(text).n),
      [1, 2, 3],
    );
    for (const text of json)
      assert.ok(
        verifyJsonSignature(JSON.parse(text), {
          entity: SERVER_NAME,
          keyId: 'ed25519:0',
          publicKey: decodeBase64(key.publicKey),
        }),
      );
    const err = await rejection(signing.signJsonBatch({ json: ['{}', '[1]', '{'], keyId: '' }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /json\[1\]/);
  });

  it('lists its key and tells a valid key from a random key and from garbage', async () => {
    const { keys } = await signing.listKeys({});
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.ok(key);
    assert.equal(key.keyId, 'ed25519:0');
    assert.equal(key.valid, true);
    assert.equal((await signing.isValid({ publicKey: key.publicKey })).valid, true);
    assert.equal((await signing.isValid({ publicKey: encodeBase64(generateSeed()) })).valid, false);
    assert.equal((await signing.isValid({ publicKey: '%%% not a key %%%' })).valid, false);
  });

  it('generates an ephemeral keypair, its seed in URL-safe base64, whose seed signs verifiably', async () => {
    const { publicKey, privateKey } = await signing.generateEphemeralKeypair({});
    assert.match(privateKey, /^[A-Za-z0-9_-]{43}$/, 'unpadded URL-safe base64, as Sydent mails it');
    const { json } = await signing.signJsonWithSeed({
      json: '{"mxid":"@a:b","token":"abc"}',
      seed: privateKey,
      keyId: '',
    });
    const signed = JSON.parse(json);
    assert.ok(
      verifyJsonSignature(signed, { entity: SERVER_NAME, keyId: 'ed25519:0', publicKey: decodeBase64(publicKey) }),
    );
    // The ephemeral key is not a long-term key.
    assert.equal((await signing.isValid({ publicKey })).valid, false);
  });

  it('answers malformed json with INVALID_ARGUMENT and M_BAD_JSON', async () => {
    const err = await rejection(signing.signJson({ json: '{"a":', keyId: '' }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.deepEqual(err.metadata.get('tessera-errcode'), ['M_BAD_JSON']);
  });

  it('refuses a client from the same CA that is not on the allow-list', async () => {
    const projector = clientWith(await credentialsOf('projector'));
    try {
      const err = await rejection(projector.signJson({ json: '{"a":1}', keyId: '' }));
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.deepEqual(err.metadata.get('tessera-errcode'), ['M_FORBIDDEN']);
      assert.equal((await rejection(projector.getPublicKey({ keyId: 'ed25519:0' }))).code, status.PERMISSION_DENIED);
    } finally {
      projector.close();
    }
  });

  it('lets any client of the CA check its health, allowed or not', async () => {
    const health = createDeadlineClient(
      HealthClient,
      `localhost:${server.port}`,
      await credentialsOf('projector'),
      3_000,
    );
    try {
      assert.equal((await health.check({ service: '' })).status, HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  it('cannot be called without a client certificate', async () => {
    const anonymous = clientWith(ChannelCredentials.createSsl(await read(pki.caCertFile)));
    try {
      assert.equal((await rejection(anonymous.listKeys({}))).code, status.UNAVAILABLE);
    } finally {
      anonymous.close();
    }
  });

  it('cannot be called with a certificate from another CA, even under an allowed name', async () => {
    const otherCa = await createCa({ commonName: 'not the Tessera CA' });
    const pair = await issueCertificate(otherCa, { commonName: 'directory', dnsNames: ['directory'], usage: 'client' });
    const impostor = clientWith(
      ChannelCredentials.createSsl(await read(pki.caCertFile), Buffer.from(pair.keyPem), Buffer.from(pair.certPem)),
    );
    try {
      assert.equal((await rejection(impostor.listKeys({}))).code, status.UNAVAILABLE);
    } finally {
      impostor.close();
    }
  });

  it('publishes ed25519:0 once, however often it starts on the same key file', async () => {
    const again = await start(join(dir, 'signing', 'signing.key'));
    await again.stop(1_000);
    const { events } = await new EventStore(nc).load(KEY_SUBJECT);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.type, 'KeyCreated');
    assert.equal(event?.payload?.$case, 'keyCreated');
    const { key } = await signing.getPublicKey({ keyId: 'ed25519:0' });
    assert.deepEqual(event?.payload?.value, { keyId: 'ed25519:0', algorithm: 'ed25519', publicKey: key?.publicKey });
    const info = await (await nc.jetstreamManager()).streams.info('TESSERA_EVENTS', { subjects_filter: KEY_SUBJECT });
    assert.deepEqual(info.state.subjects, { [KEY_SUBJECT]: 1 });
  });

  it('refuses to start on a different key under an id the stream already knows', async () => {
    const otherDir = await mkdtemp(join(dir, 'replaced-'));
    await assert.rejects(start(join(otherDir, 'signing.key')), KeyMismatch);
  });

  it('never writes the seed to the stream or the log', async () => {
    const line = (await readFile(join(dir, 'signing', 'signing.key'), 'utf8')).trim();
    const encoded = line.split(' ')[2] ?? assert.fail('no seed in the key file');
    const seed = Buffer.from(decodeBase64(encoded));
    const forms = [seed.toString('base64'), seed.toString('base64').replace(/=+$/, ''), seed.toString('base64url')];
    const jsm = await nc.jetstreamManager();
    let messages = 0;
    for (const stream of ['TESSERA_EVENTS', 'TESSERA_SHORT']) {
      const { state } = await jsm.streams.info(stream);
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(stream, { seq });
        messages++;
        const data = Buffer.from(message.data);
        assert.ok(!data.includes(seed), `message ${seq} holds the seed bytes`);
        const text = [data.toString('latin1'), JSON.stringify(decodeEnvelope(message.data))];
        for (const key of message.header?.keys() ?? []) text.push(key, ...(message.header?.values(key) ?? []));
        for (const form of forms) assert.ok(!text.some((part) => part.includes(form)), `message ${seq} holds the seed`);
      }
    }
    assert.ok(messages >= 1, 'expected at least the key event');
    const logged = logLines.join('');
    assert.ok(logged.includes('signing service ready'), 'expected the start to be logged');
    for (const form of forms) assert.ok(!logged.includes(form), 'the log holds the seed');
  });
});

describe('the signing service follows the revocation of its keys while it runs', () => {
  const opened: Array<() => unknown> = [];
  after(async () => {
    for (const close of opened.reverse()) await close();
  });

  /** A running signing service on a new key file holding `versions` (`ed25519:<version>`), through `connection`. */
  async function serving(versions: string[], connection = nc) {
    const keyDir = await mkdtemp(join(dir, 'revocation-'));
    const keyFile = join(keyDir, 'signing.key');
    const lines = versions.map((version) => `ed25519 ${version} ${encodeBase64(generateSeed())}\n`);
    await writeFile(keyFile, lines.join(''), { mode: 0o600 });
    const running = await start(keyFile, connection);
    const client = clientWith(await credentialsOf('directory'), running.port);
    opened.push(
      () => running.stop(1_000),
      () => client.close(),
    );
    const publicKeyOf = (keyId: string) => running.keys.get(keyId)?.key.publicKeyBase64 ?? assert.fail(keyId);
    return { running, client, publicKeyOf, keyFile };
  }

  /** What `tessera keys revoke` does: KeyRevoked through the key decider, on a connection of its own. */
  const revoke = (keyId: string, reason = 'integration test') => {
    const command: KeyCommand = { type: 'RevokeKey', keyId, reason, now: new Date() };
    return handleCommand(new EventStore(nc), subjectOf('key', keyId), storedKeys, command);
  };

  it('refuses SignJson with a key revoked meanwhile and says it is not valid, without a restart', async (t) => {
    const { running, client, publicKeyOf, keyFile } = await serving(['live1', 'live2']);
    const publicKey = publicKeyOf('ed25519:live1');
    assert.ok(await client.signJson({ json: '{}', keyId: 'ed25519:live1' }));
    assert.equal((await client.isValid({ publicKey })).valid, true);

    await revoke('ed25519:live1', 'seed leaked');
    const revokedAt = Date.now();
    // Polled until signing says so: the time it took is reported, not raced against.
    for (;;) {
      if ((await client.isValid({ publicKey })).valid === false) break;
      assert.ok(Date.now() - revokedAt < 10_000, 'signing learns the revocation');
    }
    t.diagnostic(`IsValid false after ${Date.now() - revokedAt} ms`);

    const refused = await rejection(client.signJson({ json: '{}', keyId: 'ed25519:live1' }));
    assert.equal(refused.code, status.NOT_FOUND);
    assert.equal((await rejection(client.getPublicKey({ keyId: 'ed25519:live1' }))).code, status.NOT_FOUND);
    const listed = (await client.listKeys({})).keys.map(({ keyId, valid }) => ({ keyId, valid }));
    assert.deepEqual(listed, [
      { keyId: 'ed25519:live1', valid: false },
      { keyId: 'ed25519:live2', valid: true },
    ]);
    // The long-term key is the next valid one in the file; the service stays ready.
    const signed = JSON.parse((await client.signJson({ json: '{}', keyId: '' })).json);
    assert.deepEqual(Object.keys(signed.signatures[SERVER_NAME]), ['ed25519:live2']);
    assert.deepEqual(readinessOf(running.readiness)(), { ready: true, failing: [] });

    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const line = logged.find((entry) => entry.msg === 'signing key revoked: no longer used or vouched for');
    assert.equal(line?.keyId, 'ed25519:live1');
    assert.equal(line?.reason, 'seed leaked');
    const seed = (await readFile(keyFile, 'utf8')).split('\n')[0]?.split(' ')[2] ?? assert.fail('no seed');
    assert.ok(!logLines.join('').includes(seed), 'the log holds the seed');
  });

  it('refuses to sign with the long-term key and is not ready once every key is revoked', async () => {
    const { running, client, publicKeyOf } = await serving(['last']);
    await revoke('ed25519:last');
    await waitUntil(() => running.keys.current === undefined, 'the only key is revoked');
    const refused = await rejection(client.signJson({ json: '{"a":1}', keyId: '' }));
    assert.equal(refused.code, status.UNAVAILABLE);
    assert.equal((await client.isValid({ publicKey: publicKeyOf('ed25519:last') })).valid, false);
    assert.equal((await rejection(client.getPublicKey({ keyId: '' }))).code, status.NOT_FOUND);
    assert.deepEqual(readinessOf(running.readiness)(), { ready: false, failing: ['valid signing key'] });
    assert.ok(logLines.some((line) => line.includes('every signing key is revoked')));
  });

  it('still refuses to start on a key file whose keys are all revoked', async () => {
    const { keyFile } = await serving(['gone']);
    await revoke('ed25519:gone');
    await assert.rejects(start(keyFile), /every key in it is revoked/);
  });

  it('reads its keys again after a reconnect: a revocation made while it was cut off is applied', async () => {
    const relay = await startTcpRelay(nats.port);
    const cutOff = await connectNats({ url: relay.url, name: 'signing-int-relay' });
    opened.push(
      () => relay.close(),
      () => cutOff.close(),
    );
    const { running, client, publicKeyOf } = await serving(['away'], cutOff);
    const keyReadiness = running.readiness.find((check) => check.name === 'signing keys') ?? assert.fail();

    relay.cut();
    await waitUntil(() => !keyReadiness.isReady(), 'not ready once disconnected');
    await revoke('ed25519:away'); // its notice cannot reach this service
    assert.equal(running.keys.get('ed25519:away')?.valid, true, 'still the old view while cut off');
    relay.restore();
    await waitUntil(() => keyReadiness.isReady(), 'ready again after reading its keys again');
    assert.equal(running.keys.get('ed25519:away')?.valid, false);
    assert.equal((await client.isValid({ publicKey: publicKeyOf('ed25519:away') })).valid, false);
    assert.equal((await rejection(client.signJson({ json: '{}', keyId: '' }))).code, status.UNAVAILABLE);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { decodeBase64, encodeBase64, generateSeed, verifyJsonSignature } from '@tessera/canonical-json';
import { type Config, loadConfig } from '@tessera/config';
import { createCa, type DevPkiFiles, ensureDevPki, issueCertificate } from '@tessera/dev-pki';
import { connectNats, decodeEnvelope, EventStore, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tessera/proto/grpc/health/v1/health';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import {
  createDeadlineClient,
  createLogger,
  createMetrics,
  type DeadlineClient,
  readTlsFiles,
} from '@tessera/service-kit';
import { KeyMismatch } from '@tessera/signing-keys';
import { startNats, type TestNats } from '@tessera/test-harness';
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

const clientWith = (credentials: ChannelCredentials) =>
  createDeadlineClient(SigningServiceClient, `localhost:${server.port}`, credentials, 3_000);

const start = async (keyFile: string) =>
  startSigningServer({
    config: { ...config, TESSERA_SIGNING_KEY_FILE: keyFile },
    log,
    metrics: createMetrics('signing'),
    tls: readTlsFiles(config),
    keyStore: await openKeyStore(keyFile, log),
    eventStore: new EventStore(nc),
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

  it('generates an ephemeral keypair whose seed signs verifiably', async () => {
    const { publicKey, privateKey } = await signing.generateEphemeralKeypair({});
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

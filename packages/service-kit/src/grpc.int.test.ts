import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { currentCorrelationId, isCorrelationId, withCorrelation } from '@tessera/correlation';
import { createCa, issueCertificate, type PemPair } from '@tessera/dev-pki';
import { TesseraError } from '@tessera/errors';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tessera/proto/grpc/health/v1/health';
import {
  type GetPublicKeyResponse,
  SigningServiceClient,
  SigningServiceService,
} from '@tessera/proto/tessera/signing/v1/signing';
import { signingStub } from '../test-support/signing-stub.js';
import { createDeadlineClient } from './grpc-client.js';
import { type RunningGrpcServer, startGrpcServer } from './grpc-server.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { peerCertificateNames } from './peer.js';
import { channelCredentials } from './tls.js';

// A service shaped like signing, to exercise the kit: mTLS, the allow-list, health, error mapping, deadlines.
const logLines: Record<string, unknown>[] = [];
const log = createLogger(
  'kit-test',
  'info',
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  }),
);
const metrics = createMetrics('kit-test');
let seenPeerNames: string[] = [];
let handlerCalls = 0;
let seenCorrelationId: string | undefined;

const implementation = signingStub(
  async ({ keyId }, call): Promise<GetPublicKeyResponse> => {
    handlerCalls++;
    seenPeerNames = peerCertificateNames(call);
    seenCorrelationId = currentCorrelationId();
    if (keyId === 'logged') log.info('handler at work');
    if (keyId === 'missing') throw new TesseraError('M_NOT_FOUND', 'no such key');
    if (keyId === 'crash') throw new Error('database password is hunter2');
    if (keyId === 'slow') await new Promise((resolve) => setTimeout(resolve, 1_000));
    return { key: { keyId, publicKey: 'pk', valid: true } };
  },
  { log, metrics },
);

let ca: PemPair;
let server: RunningGrpcServer;
let target: string;

const tlsOf = (pair: PemPair, authority: PemPair) => ({
  ca: Buffer.from(authority.certPem),
  cert: Buffer.from(pair.certPem),
  key: Buffer.from(pair.keyPem),
});

async function clientFor(commonName: string, authority = ca) {
  const pair = await issueCertificate(authority, { commonName, dnsNames: [commonName], usage: 'client' });
  // The server certificate is checked against our CA whatever the client's own CA is.
  const credentials = ChannelCredentials.createSsl(
    Buffer.from(ca.certPem),
    Buffer.from(pair.keyPem),
    Buffer.from(pair.certPem),
  );
  return createDeadlineClient(SigningServiceClient, target, credentials, 2_000);
}

before(async () => {
  ca = await createCa({ commonName: 'kit test CA' });
  const serverPair = await issueCertificate(ca, {
    commonName: 'signing',
    dnsNames: ['signing', 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  server = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 },
    services: [{ name: 'tessera.signing.v1.SigningService', definition: SigningServiceService, implementation }],
    tls: tlsOf(serverPair, ca),
    allowedClients: ['gateway', 'directory'],
    log,
    metrics,
  });
  target = `localhost:${server.port}`;
});
after(() => server.stop(1_000));

const rejection = async (promise: Promise<unknown>): Promise<ServiceError> => {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the call to fail');
};

describe('gRPC server and clients of the service kit', () => {
  it('serves a client with a certificate from the CA and shows the handler its certificate names', async () => {
    const client = await clientFor('gateway');
    const response = await client.getPublicKey({ keyId: 'ed25519:0' });
    assert.equal(response.key?.publicKey, 'pk');
    assert.ok(seenPeerNames.includes('gateway'));
    client.close();
  });

  it("runs the handler under the caller's correlation id, and logs it on the handler's lines", async () => {
    const client = await clientFor('gateway');
    await withCorrelation('req-from-gateway', () => client.getPublicKey({ keyId: 'logged' }));
    assert.equal(seenCorrelationId, 'req-from-gateway');
    const line = logLines.findLast((entry) => entry.msg === 'handler at work');
    assert.equal(line?.correlationId, 'req-from-gateway');
    client.close();
  });

  it('gives a call that came without a correlation id a fresh one of its own', async () => {
    const client = await clientFor('gateway');
    await client.getPublicKey({ keyId: 'ed25519:0' });
    const first = seenCorrelationId;
    await client.getPublicKey({ keyId: 'ed25519:0' });
    assert.ok(isCorrelationId(first));
    assert.notEqual(seenCorrelationId, first);
    client.close();
  });

  it('refuses a client of the CA whose certificate names no allowed caller, before any handler runs', async () => {
    const client = await clientFor('notifier');
    const callsBefore = handlerCalls;
    const err = await rejection(client.getPublicKey({ keyId: 'ed25519:0' }));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.deepEqual(err.metadata.get('tessera-errcode'), ['M_FORBIDDEN']);
    assert.equal(handlerCalls, callsBefore, 'the handler never ran');
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /tessera_grpc_server_refused_total\{method="\/tessera.signing.v1.SigningService\/GetPublicKey",service="kit-test"\} 1/,
    );
    client.close();
  });

  it('logs a caller refused again and again once, at warn, without a stack', async () => {
    const client = await clientFor('projector');
    for (let i = 0; i < 5; i++) await rejection(client.listKeys({}));
    client.close();
    const refusals = logLines.filter(
      (line) => line.msg === 'refused a caller that is not on the allow-list' && String(line.peerNames) === 'projector',
    );
    assert.equal(refusals.length, 1, 'one line for five refusals (the rest are counted for a summary)');
    assert.equal(refusals[0]?.level, 'warn');
    assert.equal(refusals[0]?.method, '/tessera.signing.v1.SigningService/ListKeys');
    assert.doesNotMatch(JSON.stringify(refusals), /stack/);
  });

  it('admits a caller under any allowed name', async () => {
    const client = await clientFor('directory');
    assert.equal((await client.getPublicKey({ keyId: 'ed25519:1' })).key?.keyId, 'ed25519:1');
    client.close();
  });

  it('refuses a client without a certificate', async () => {
    const client = createDeadlineClient(
      SigningServiceClient,
      target,
      ChannelCredentials.createSsl(Buffer.from(ca.certPem)),
      1_000,
    );
    const err = await rejection(client.getPublicKey({ keyId: 'ed25519:0' }));
    assert.equal(err.code, status.UNAVAILABLE);
    client.close();
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const otherCa = await createCa({ commonName: 'someone else' });
    const client = await clientFor('gateway', otherCa);
    const err = await rejection(client.getPublicKey({ keyId: 'ed25519:0' }));
    assert.equal(err.code, status.UNAVAILABLE);
    client.close();
  });

  it('sends a TesseraError as its errcode and message', async () => {
    const client = await clientFor('gateway');
    const err = await rejection(client.getPublicKey({ keyId: 'missing' }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, 'no such key');
    assert.deepEqual(err.metadata.get('tessera-errcode'), ['M_NOT_FOUND']);
    client.close();
  });

  it('hides an unexpected error behind M_UNKNOWN and counts it', async () => {
    const client = await clientFor('gateway');
    const err = await rejection(client.getPublicKey({ keyId: 'crash' }));
    assert.equal(err.code, status.INTERNAL);
    assert.equal(err.details, 'internal error');
    assert.doesNotMatch(JSON.stringify(err.metadata.getMap()), /hunter2/);
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /tessera_grpc_server_handled_total\{method="tessera.signing.v1.SigningService\/getPublicKey",code="INTERNAL",service="kit-test"\} 1/,
    );
    client.close();
  });

  it('puts a deadline on every call', async () => {
    const client = await clientFor('gateway');
    const started = Date.now();
    const err = await rejection(client.getPublicKey({ keyId: 'slow' }, { deadlineMs: 200 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 900, 'the call returned at its deadline, not when the handler finished');
    client.close();
  });

  it('answers the standard health check for the server and each service to any client of the CA', async () => {
    const pair = await issueCertificate(ca, { commonName: 'runner', dnsNames: ['runner'], usage: 'client' });
    const health = new HealthClient(target, channelCredentials(tlsOf(pair, ca)));
    const check = (service: string) =>
      new Promise<number>((resolve, reject) =>
        health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    assert.equal(await check(''), HealthCheckResponse_ServingStatus.SERVING);
    assert.equal(await check('tessera.signing.v1.SigningService'), HealthCheckResponse_ServingStatus.SERVING);
    await assert.rejects(check('tessera.nothing.v1.Nothing'), (err: ServiceError) => err.code === status.NOT_FOUND);
    health.close();
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type ServiceError, status } from '@grpc/grpc-js';
import { createCa, issueCertificate, type PemPair } from '@tessera/dev-pki';
import {
  type GetPublicKeyResponse,
  SigningServiceClient,
  SigningServiceService,
} from '@tessera/proto/tessera/signing/v1/signing';
import { signingStub } from '../test-support/signing-stub.js';
import { type CertificateReloadEvent, ReloadingCertificates } from './certificate-reload.js';
import { createDeadlineClient } from './grpc-client.js';
import { type RunningGrpcServer, startGrpcServer } from './grpc-server.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { channelCredentials, type TlsFiles } from './tls.js';

// Replicas, connection ages and certificate files that change under running servers and clients.
const log = createLogger('kit-test', 'warn', new Writable({ write: (_chunk, _encoding, done) => done() }));
const metrics = createMetrics('kit-test');
const RELOAD_MS = 100;

/** A signing-shaped service whose getPublicKey answers with the server's label and the caller's address. */
const labelled = (label: string) =>
  signingStub(
    async (_request, call): Promise<GetPublicKeyResponse> => ({
      key: { keyId: label, publicKey: call.getPeer(), valid: true },
    }),
    { log, metrics },
  );

let ca: PemPair;
let dir: string;
const servers: RunningGrpcServer[] = [];

const bytesOf = (pair: PemPair) => ({
  ca: Buffer.from(ca.certPem),
  cert: Buffer.from(pair.certPem),
  key: Buffer.from(pair.keyPem),
});
const issue = (commonName: string, usage: 'server' | 'client') =>
  issueCertificate(ca, { commonName, dnsNames: [commonName], usage });

/** The pair written to <dir>/<name>.{crt,key} beside the CA: TLS files as a service reads them, reloading. */
async function tlsFilesOf(name: string, pair: PemPair, events: CertificateReloadEvent[] = []): Promise<TlsFiles> {
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await writeFile(files.caFile, ca.certPem);
  await writePair(name, pair);
  const bytes = bytesOf(pair);
  const reloading = new ReloadingCertificates(files, bytes, {
    intervalMs: RELOAD_MS,
    onEvent: (event) => events.push(event),
  });
  return { ...bytes, reloading };
}

/** Overwrites the pair in place, the certificate first: a reader may catch it beside the old key. */
async function writePair(name: string, pair: PemPair): Promise<void> {
  await writeFile(join(dir, `${name}.crt`), pair.certPem);
  await writeFile(join(dir, `${name}.key`), pair.keyPem);
}

async function serve(label: string, tls: TlsFiles, maxConnectionAge?: { ageMs: number; graceMs: number }) {
  const server = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 },
    services: [
      { name: 'tessera.signing.v1.SigningService', definition: SigningServiceService, implementation: labelled(label) },
    ],
    tls,
    allowedClients: ['gateway'],
    log,
    metrics,
    ...(maxConnectionAge ? { maxConnectionAge } : {}),
  });
  servers.push(server);
  return server;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  ca = await createCa({ commonName: 'replicas test CA' });
  dir = await mkdtemp(join(tmpdir(), 'tessera-kit-replicas-'));
});
after(async () => {
  for (const server of servers) await server.stop(500);
  await rm(dir, { recursive: true, force: true });
});

describe('gRPC clients over replicas', () => {
  it('spreads calls round robin over a list of replicas, and keeps answering when one of them stops', async () => {
    const serverTls = await tlsFilesOf('signing', await issue('signing', 'server'));
    const [one, two] = [await serve('one', serverTls), await serve('two', serverTls)];
    const client = createDeadlineClient(
      SigningServiceClient,
      `ipv4:127.0.0.1:${one.port},127.0.0.1:${two.port}`,
      channelCredentials(await tlsFilesOf('gateway', await issue('gateway', 'client'))),
      2_000,
      { serviceName: 'signing' },
    );
    try {
      const seen = new Set<string>();
      await until('both replicas answered', async () => {
        seen.add((await client.getPublicKey({ keyId: 'k' })).key?.keyId ?? '');
        return seen.has('one') && seen.has('two');
      });
      await one.stop(200);
      const labels = [];
      for (let i = 0; i < 10; i++) labels.push((await client.getPublicKey({ keyId: 'k' })).key?.keyId);
      assert.deepEqual(new Set(labels), new Set(['two']), 'every call after the stop went to the replica left');
    } finally {
      client.close();
    }
  });

  it('has a client connect again once the server closes a connection at its maximum age', async () => {
    const server = await serve('aged', await tlsFilesOf('signing', await issue('signing', 'server')), {
      ageMs: 300,
      graceMs: 1_000,
    });
    const client = createDeadlineClient(
      SigningServiceClient,
      `127.0.0.1:${server.port}`,
      channelCredentials(await tlsFilesOf('gateway', await issue('gateway', 'client'))),
      2_000,
      { serviceName: 'signing' },
    );
    try {
      // The caller's address (its local port) is one per connection.
      const peers = new Set<string>();
      await until('calls came over two connections', async () => {
        peers.add((await client.getPublicKey({ keyId: 'k' })).key?.publicKey ?? '');
        return peers.size >= 2;
      });
    } finally {
      client.close();
    }
  });
});

describe('certificates read again when their files change', () => {
  it('admits a client once its certificate files name an allowed caller, without restarting it', async () => {
    const server = await serve('rotating-client', await tlsFilesOf('signing', await issue('signing', 'server')), {
      ageMs: 300,
      graceMs: 1_000,
    });
    const events: CertificateReloadEvent[] = [];
    const clientTls = await tlsFilesOf('caller', await issue('intruder', 'client'), events);
    const client = createDeadlineClient(
      SigningServiceClient,
      `127.0.0.1:${server.port}`,
      channelCredentials(clientTls),
      2_000,
      { serviceName: 'signing' },
    );
    try {
      const refused = await client.getPublicKey({ keyId: 'k' }).then(
        () => assert.fail('an intruder was admitted'),
        (err: ServiceError) => err,
      );
      assert.equal(refused.code, status.PERMISSION_DENIED);
      await writePair('caller', await issue('gateway', 'client'));
      // The new certificate is used by the next connection, which the server's maximum age brings.
      await until('the renewed certificate was admitted', async () => {
        await client.getPublicKey({ keyId: 'k' });
        return true;
      });
      assert.ok(events.some((event) => event.type === 'reloaded'));
      assert.match(clientTls.reloading?.current.cert.toString() ?? '', /BEGIN CERTIFICATE/);
    } finally {
      client.close();
    }
  });

  it('serves with a renewed server certificate from its next connection on, without restarting', async () => {
    // First a certificate for another name: clients asking for "signing" refuse it.
    const server = await serve('rotating-server', await tlsFilesOf('server', await issue('elsewhere', 'server')));
    const client = createDeadlineClient(
      SigningServiceClient,
      `127.0.0.1:${server.port}`,
      channelCredentials(await tlsFilesOf('gateway', await issue('gateway', 'client'))),
      1_000,
      { serviceName: 'signing' },
    );
    try {
      const refused = await client.getPublicKey({ keyId: 'k' }).then(
        () => assert.fail('a certificate for another name was accepted'),
        (err: ServiceError) => err,
      );
      assert.equal(refused.code, status.UNAVAILABLE);
      await writePair('server', await issue('signing', 'server'));
      await until('the server presented the renewed certificate', async () => {
        await client.getPublicKey({ keyId: 'k' });
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('keeps the certificates in use when the files hold a key that does not match the certificate', async () => {
    const first = await issue('gateway', 'client');
    const events: CertificateReloadEvent[] = [];
    const tls = await tlsFilesOf('mismatched', first, events);
    const other = await issue('gateway', 'client');
    await writeFile(join(dir, 'mismatched.crt'), other.certPem); // the old key stays beside it
    assert.equal(await tls.reloading?.reload(), false);
    assert.equal(events.at(-1)?.type, 'refused');
    assert.equal(tls.reloading?.current.cert.toString(), first.certPem);
    await writeFile(join(dir, 'mismatched.key'), other.keyPem);
    assert.equal(await tls.reloading?.reload(), true);
    assert.equal(tls.reloading?.current.cert.toString(), other.certPem);
  });
});

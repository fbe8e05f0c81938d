import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { createCa, issueCertificate, type PemPair } from './certificates.js';

type Handshake = {
  clientError: Error | null;
  serverError: Error | null;
  peerCommonName: string | null;
  /** Why the server found the client certificate wrong; only seen when the server does not reject. */
  authorizationError: string | null;
};

/**
 * One mutual-TLS handshake on 127.0.0.1: the server requires and verifies a client certificate
 * against `serverTrusts`, the client verifies the server against `clientTrusts` (for `servername`).
 */
async function handshake(o: {
  server: PemPair;
  serverTrusts: string;
  client: PemPair;
  clientTrusts: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}): Promise<Handshake> {
  let serverError: Error | null = null;
  let peerCommonName: string | null = null;
  let authorizationError: string | null = null;
  const server: Server = createServer({
    key: o.server.keyPem,
    cert: o.server.certPem,
    ca: [o.serverTrusts],
    requestCert: true,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
  });
  const serverDone = new Promise<void>((resolve) => {
    server.on('secureConnection', (socket: TLSSocket) => {
      const subject = socket.getPeerCertificate().subject as { CN?: string } | undefined;
      peerCommonName = subject?.CN ?? null;
      authorizationError = socket.authorizationError?.toString() ?? null;
      socket.end('hello');
      resolve();
    });
    server.on('tlsClientError', (err) => {
      serverError = err;
      resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const clientError = await new Promise<Error | null>((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(o.servername === undefined ? {} : { servername: o.servername }),
      ca: [o.clientTrusts],
      cert: o.client.certPem,
      key: o.client.keyPem,
    });
    // With TLS 1.3 the client finishes before the server has checked its certificate: wait for
    // the server's first bytes (or its alert) to know the outcome.
    socket.once('data', () => {
      socket.end();
      resolve(null);
    });
    socket.once('error', (err) => resolve(err));
    socket.once('end', () => resolve(new Error('closed without data')));
  });
  await serverDone;
  await new Promise((resolve) => server.close(resolve));
  return { clientError, serverError, peerCommonName, authorizationError };
}

describe('certificates from a dev CA', () => {
  let ca: PemPair;
  let otherCa: PemPair;
  let server: PemPair;
  let client: PemPair;

  before(async () => {
    ca = await createCa({ commonName: 'Test CA' });
    otherCa = await createCa({ commonName: 'Someone else' });
    server = await issueCertificate(ca, {
      commonName: 'signing',
      dnsNames: ['signing', 'localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    client = await issueCertificate(ca, { commonName: 'directory', dnsNames: ['directory'], usage: 'client' });
  });
  it('makes a CA certificate with CA:true that signed the issued certificates', () => {
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(caCert.ca, true);
    const issued = new X509Certificate(server.certPem);
    assert.equal(issued.ca, false);
    assert.ok(issued.checkIssued(caCert));
    assert.ok(issued.verify(caCert.publicKey));
  });

  it('puts the DNS names and IPs in the SAN and the usage in the extended key usage', () => {
    const cert = new X509Certificate(server.certPem);
    assert.equal(cert.subject, 'CN=signing');
    assert.equal(cert.subjectAltName, 'DNS:signing, DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth
    assert.deepEqual(new X509Certificate(client.certPem).keyUsage, ['1.3.6.1.5.5.7.3.2']); // clientAuth
  });

  it('gives ECDSA P-256 keys as PKCS#8 PEM', () => {
    assert.match(server.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = new X509Certificate(server.certPem).publicKey;
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('completes a mutual TLS handshake on 127.0.0.1, the server seeing the client CN', async () => {
    const result = await handshake({ server, serverTrusts: ca.certPem, client, clientTrusts: ca.certPem });
    assert.deepEqual(result, {
      clientError: null,
      serverError: null,
      peerCommonName: 'directory',
      authorizationError: null,
    });
  });

  it('verifies the server by its DNS name localhost as well', async () => {
    const result = await handshake({
      server,
      serverTrusts: ca.certPem,
      client,
      clientTrusts: ca.certPem,
      servername: 'localhost',
    });
    assert.equal(result.clientError, null);
    assert.equal(result.peerCommonName, 'directory');
  });

  it('makes the server reject a client certificate from a different CA', async () => {
    const stranger = await issueCertificate(otherCa, { commonName: 'intruder', dnsNames: [], usage: 'client' });
    const attempt = { server, serverTrusts: ca.certPem, client: stranger, clientTrusts: ca.certPem };
    const result = await handshake(attempt);
    assert.equal(result.peerCommonName, null);
    assert.ok(result.serverError, 'the server reports the refused client');
    assert.ok(result.clientError, 'the client sees the connection refused');
    const reason = await handshake({ ...attempt, rejectUnauthorized: false });
    assert.equal(reason.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('makes the client reject a server certificate from a different CA', async () => {
    const impostor = await issueCertificate(otherCa, {
      commonName: 'signing',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    const result = await handshake({ server: impostor, serverTrusts: ca.certPem, client, clientTrusts: ca.certPem });
    assert.equal((result.clientError as NodeJS.ErrnoException | null)?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(result.peerCommonName, null);
  });

  it('refuses a server-only certificate when presented as a client certificate', async () => {
    const attempt = { server, serverTrusts: ca.certPem, client: server, clientTrusts: ca.certPem };
    const result = await handshake(attempt);
    assert.equal(result.peerCommonName, null);
    assert.ok(result.serverError);
    const reason = await handshake({ ...attempt, rejectUnauthorized: false });
    assert.equal(reason.authorizationError, 'INVALID_PURPOSE');
  });
});

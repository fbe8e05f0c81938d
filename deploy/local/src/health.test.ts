import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ChannelCredentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { ensureDevPki } from '@tessera/dev-pki';
import { freePort } from '@tessera/local-infra';
import {
  HealthCheckResponse_ServingStatus,
  type HealthServer,
  HealthService,
} from '@tessera/proto/grpc/health/v1/health';
import { grpcHealthProbe, HealthTimeout, httpOkProbe, waitUntilHealthy } from './health.js';

describe('health waits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-health-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for the gateway to answer 200, and names it when it never does', async () => {
    let answers = [503, 503, 200];
    const server = createServer((req, res) => {
      const status = req.url === '/_matrix/identity/v2' ? (answers.shift() ?? 200) : 404;
      res.writeHead(status).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await waitUntilHealthy('gateway', httpOkProbe(`http://127.0.0.1:${port}/_matrix/identity/v2`), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      assert.equal(answers.length, 0);

      answers = Array(1000).fill(503);
      await assert.rejects(
        waitUntilHealthy('gateway', httpOkProbe(`http://127.0.0.1:${port}/_matrix/identity/v2`), {
          timeoutMs: 200,
          intervalMs: 10,
        }),
        (err: unknown) =>
          err instanceof HealthTimeout &&
          err.service === 'gateway' &&
          /^gateway did not become healthy within 0\.2 s \(GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/identity\/v2; last: HTTP 503\)$/.test(
            err.message,
          ),
      );
    } finally {
      server.close();
    }
  });

  it('says a refused connection is what it saw last', async () => {
    const closed = await freePort();
    await assert.rejects(
      waitUntilHealthy('gateway', httpOkProbe(`http://127.0.0.1:${closed}/_matrix/identity/v2`), { timeoutMs: 100 }),
      /last: ECONNREFUSED/,
    );
  });

  it('stops waiting as soon as it is aborted', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('runner stopping')), 50);
    const started = Date.now();
    await assert.rejects(
      waitUntilHealthy('gateway', httpOkProbe('http://127.0.0.1:1/'), { timeoutMs: 10_000, signal: abort.signal }),
      /runner stopping/,
    );
    assert.ok(Date.now() - started < 2_000);
  });

  it('checks gRPC health over mutual TLS with the runner certificate', async () => {
    const pki = await ensureDevPki(join(dir, 'pki'), { services: ['signing', 'runner'] });
    const signing = pki.services.signing;
    const runner = pki.services.runner;
    assert.ok(signing && runner);
    const ca = readFileSync(pki.caCertFile);
    let servingStatus = HealthCheckResponse_ServingStatus.NOT_SERVING;
    const server = new Server();
    const implementation: HealthServer = {
      check: (_call, callback) => callback(null, { status: servingStatus }),
      watch: (call) => call.end(),
    };
    server.addService(HealthService, implementation);
    const serverCredentials = ServerCredentials.createSsl(
      ca,
      [{ cert_chain: readFileSync(signing.certFile), private_key: readFileSync(signing.keyFile) }],
      true,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', serverCredentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    const credentials = ChannelCredentials.createSsl(ca, readFileSync(runner.keyFile), readFileSync(runner.certFile));
    const probe = grpcHealthProbe(`127.0.0.1:${port}`, credentials, { serverName: 'signing' });
    try {
      assert.deepEqual(await probe.check(), { ok: false, detail: 'status NOT_SERVING' });
      setTimeout(() => {
        servingStatus = HealthCheckResponse_ServingStatus.SERVING;
      }, 100);
      await waitUntilHealthy('signing', probe, { timeoutMs: 5_000, intervalMs: 20 });
    } finally {
      probe.close();
      server.forceShutdown();
    }
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChannelCredentials } from '@grpc/grpc-js';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { type DevPkiFiles, ensureDevPki } from '@tessera/dev-pki';
import { provision } from '@tessera/nats-access';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { createDeadlineClient } from '@tessera/service-kit';
import { startNats, type TestNats } from '@tessera/test-harness';
import { connect } from 'nats';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

type LogLine = { msg?: string; port?: number; level?: string };

let dir: string;
let nats: TestNats;
let pki: DevPkiFiles;
let child: ChildProcess;
const output: string[] = [];
const lines: LogLine[] = [];
let exited: Promise<number | null>;

function waitForLog(msg: string, timeoutMs = 15_000): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const found = lines.find((line) => line.msg === msg);
      if (found) return resolve(found);
      if (child.exitCode !== null) return reject(new Error(`exited ${child.exitCode}:\n${output.join('\n')}`));
      if (Date.now() - started > timeoutMs) return reject(new Error(`no "${msg}" in:\n${output.join('\n')}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-signing-main-int-'));
  nats = await startNats();
  const admin = await connect({ servers: nats.url });
  await provision(admin);
  await admin.close();
  pki = await ensureDevPki(join(dir, 'pki'), { services: ['signing', 'directory'] });
  const own = pki.services.signing;
  assert.ok(own);
  child = spawn(process.execPath, [MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      TESSERA_SERVER_NAME: 'id.example.org',
      TESSERA_DATA_DIR: join(dir, 'data'),
      TESSERA_NATS_URL: nats.url,
      TESSERA_GRPC_LISTEN: '127.0.0.1:0',
      TESSERA_METRICS_LISTEN: '127.0.0.1:0',
      TESSERA_TLS_CA_FILE: pki.caCertFile,
      TESSERA_TLS_CERT_FILE: own.certFile,
      TESSERA_TLS_KEY_FILE: own.keyFile,
    },
  });
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    });
  }
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the signing service process with NATS and mTLS', () => {
  it('starts, signs, counts, and stops cleanly on SIGTERM', async () => {
    await waitForLog('signing service ready');
    const grpcPort = (await waitForLog('gRPC server listening')).port;
    const adminPort = lines.find((line) => line.msg?.startsWith('admin server listening'))?.port;
    assert.ok(grpcPort && adminPort);

    const keyFile = join(dir, 'data', 'signing', 'signing.key');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);

    const files = pki.services.directory;
    assert.ok(files);
    const credentials = ChannelCredentials.createSsl(
      await readFile(pki.caCertFile),
      await readFile(files.keyFile),
      await readFile(files.certFile),
    );
    const client = createDeadlineClient(SigningServiceClient, `localhost:${grpcPort}`, credentials, 3_000);
    try {
      const signed = JSON.parse((await client.signJson({ json: '{"a":1}', keyId: '' })).json);
      const { key } = await client.getPublicKey({ keyId: 'ed25519:0' });
      assert.ok(key);
      assert.ok(verifyJsonSignature(signed, { entity: 'id.example.org', publicKey: decodeBase64(key.publicKey) }));
    } finally {
      client.close();
    }

    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    // Counted by caller too: the name in the client certificate (the directory's here), which says what for.
    assert.match(
      metrics,
      /tessera_signing_signatures_total\{method="SignJson",caller="directory",service="signing"\} 1/,
    );

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.some((line) => line.msg === 'stopped'));

    const seed = (await readFile(keyFile, 'utf8')).trim().split(' ')[2] ?? assert.fail('no seed');
    assert.ok(!output.join('\n').includes(seed), 'the log holds the seed');
  });
});

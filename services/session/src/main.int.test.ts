import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { type DevPkiFiles, ensureDevPki } from '@tessera/dev-pki';
import { provision } from '@tessera/nats-access';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { createDeadlineClient } from '@tessera/service-kit';
import { startNats, type TestNats } from '@tessera/test-harness';
import { connect } from 'nats';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const EX_CONFIG = 78;

type Run = { child: ChildProcess; lines: string[]; exited: Promise<number | null> };

let dir: string;
let nats: TestNats;
let secretFile: string;
let pki: DevPkiFiles;

function tlsOf(service: string): Record<string, string> {
  const files = pki.services[service];
  assert.ok(files, `no certificate for ${service}`);
  return {
    TESSERA_TLS_CA_FILE: pki.caCertFile,
    TESSERA_TLS_CERT_FILE: files.certFile,
    TESSERA_TLS_KEY_FILE: files.keyFile,
  };
}

async function credentialsOf(service: string): Promise<ChannelCredentials> {
  const { TESSERA_TLS_CA_FILE: ca, TESSERA_TLS_CERT_FILE: cert, TESSERA_TLS_KEY_FILE: key } = tlsOf(service);
  const read = (file: string | undefined) => readFile(file ?? assert.fail('no file'));
  return ChannelCredentials.createSsl(await read(ca), await read(key), await read(cert));
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', TESSERA_DATA_DIR: join(dir, 'data'), ...env },
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    if (stream) createInterface({ input: stream }).on('line', (line) => lines.push(line));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function waitForLine(service: Run, text: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = service.lines.find((line) => line.includes(text));
    if (found) return found;
    if (service.child.exitCode !== null || Date.now() > until)
      throw new Error(`no "${text}" in:\n${service.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-session-main-'));
  nats = await startNats();
  await provisioned(nats);
  secretFile = join(dir, 'server.key');
  await writeFile(secretFile, `${randomBytes(32).toString('base64')}\n`);
  pki = await ensureDevPki(join(dir, 'pki'), { services: ['session', 'gateway', 'notifier'] });
});

/** What an operator's `tessera provision` (or the runner) does before the services start. */
async function provisioned(server: TestNats): Promise<void> {
  const nc = await connect({ servers: server.url });
  await provision(nc);
  await nc.close();
}

after(async () => {
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the session service process', () => {
  it('exits with EX_CONFIG naming TESSERA_SECRET_KEY_FILE when it is unset', async () => {
    const service = run({ TESSERA_NATS_URL: nats.url, ...tlsOf('session') });
    assert.equal(await service.exited, EX_CONFIG);
    assert.ok(service.lines.some((line) => line.includes('TESSERA_SECRET_KEY_FILE')));
  });

  it('exits with EX_CONFIG naming TESSERA_TERMS_FILE when the terms file is malformed', async () => {
    const termsFile = join(dir, 'bad-terms.yaml');
    await writeFile(termsFile, 'docs:\n  tos: "no version"\n');
    const service = run({
      TESSERA_NATS_URL: nats.url,
      TESSERA_SECRET_KEY_FILE: secretFile,
      TESSERA_TERMS_FILE: termsFile,
      ...tlsOf('session'),
    });
    assert.equal(await service.exited, EX_CONFIG);
    assert.ok(service.lines.some((line) => line.includes('TESSERA_TERMS_FILE')));
  });

  it('exits with EX_CONFIG naming TESSERA_NATS_URL when it is unset', async () => {
    const service = run({ TESSERA_SECRET_KEY_FILE: secretFile, ...tlsOf('session') });
    assert.equal(await service.exited, EX_CONFIG);
    assert.ok(service.lines.some((line) => line.includes('TESSERA_NATS_URL')));
  });

  it('exits with EX_CONFIG naming the TLS files when they are unset: it serves mutual TLS only', async () => {
    const service = run({ TESSERA_NATS_URL: nats.url, TESSERA_SECRET_KEY_FILE: secretFile });
    assert.equal(await service.exited, EX_CONFIG);
    assert.ok(service.lines.some((line) => line.includes('TESSERA_TLS_CA_FILE')));
  });

  it('refuses to start on a NATS whose streams and buckets were never provisioned, and creates nothing', async () => {
    const bare = await startNats();
    try {
      const service = run({ TESSERA_NATS_URL: bare.url, TESSERA_SECRET_KEY_FILE: secretFile, ...tlsOf('session') });
      assert.equal(await service.exited, 1);
      const said = service.lines.join('\n');
      assert.match(said, /NATS has no stream TESSERA_SHORT, stream TESSERA_EVENTS, bucket tessera_data_keys/);
      assert.match(said, /tessera provision/);
      const nc = await connect({ servers: bare.url });
      try {
        assert.equal((await (await nc.jetstreamManager()).getAccountInfo()).streams, 0);
      } finally {
        await nc.close();
      }
    } finally {
      await bare.stop();
    }
  });

  it('serves the callers of its allow-list once ready, warns about a test clock, and exits 0 on SIGTERM', async () => {
    const service = run({
      TESSERA_NATS_URL: nats.url,
      TESSERA_SECRET_KEY_FILE: secretFile,
      TESSERA_GRPC_LISTEN: '127.0.0.1:0',
      TESSERA_METRICS_LISTEN: '127.0.0.1:0',
      TESSERA_CLOCK_OFFSET_FILE: join(dir, 'clock-offset'),
      ...tlsOf('session'),
    });
    try {
      const ready = JSON.parse(await waitForLine(service, 'session service ready')) as { port: number };
      assert.ok(service.lines.some((line) => line.includes('test clock in use')));
      const clientAs = async (name: string) =>
        createDeadlineClient(SessionServiceClient, `127.0.0.1:${ready.port}`, await credentialsOf(name), 5_000, {
          serviceName: 'session',
        });
      const gateway = await clientAs('gateway');
      const notifier = await clientAs('notifier');
      try {
        assert.equal((await gateway.getTerms({})).policiesJson, '{}');
        // The default TESSERA_SESSION_ALLOWED_CLIENTS (gateway, directory, invite) leaves the notifier out.
        await assert.rejects(notifier.getTerms({}), (err: ServiceError) => err.code === status.PERMISSION_DENIED);
      } finally {
        gateway.close();
        notifier.close();
      }
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  });
});

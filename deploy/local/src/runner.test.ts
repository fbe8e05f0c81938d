import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { sendMail } from '../test-support/smtp-dialogue.js';
import { until } from '../test-support/until.js';
import { HealthTimeout } from './health.js';
import { isPidAlive as isAlive } from './pids.js';
import { LocalRunner } from './runner.js';
import { type RunnerState, readStateFile } from './state-file.js';

const GRPC_URL = import.meta.resolve('@grpc/grpc-js');
const HEALTH_URL = import.meta.resolve('@tessera/proto/grpc/health/v1/health');

/**
 * Stand-ins for services/<name>/dist/main.js. Each writes its environment and arguments to
 * $FAKE_OUT/<name>-<pid>.json, obeys $FAKE_OUT/<name>.mode ("78": exit 78 at once; "503": the
 * gateway never gets healthy), and notes in $FAKE_OUT/order.log when SIGTERM stops it.
 */
const COMMON = `
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const out = process.env.FAKE_OUT;
// Written aside and renamed: the test polls for the file and must never read it half written.
const started = join(out, NAME + '-' + process.pid + '.json');
writeFileSync(started + '.part', JSON.stringify({ env: process.env, argv: process.argv }));
renameSync(started + '.part', started);
const modeFile = join(out, NAME + '.mode');
const mode = existsSync(modeFile) ? readFileSync(modeFile, 'utf8').trim() : '';
if (mode === '78') {
  console.error('TESSERA_SOMETHING: not valid');
  process.exit(78);
}
let stop = () => {};
process.on('SIGTERM', () => {
  appendFileSync(join(out, 'order.log'), NAME + '\\n');
  stop();
  process.exit(0);
});
`;
const FAKE_GRPC_SERVICE = `
const grpcModule = await import(${JSON.stringify(GRPC_URL)});
const grpc = grpcModule.default ?? grpcModule;
const { HealthService } = await import(${JSON.stringify(HEALTH_URL)});
const env = process.env;
const server = new grpc.Server();
server.addService(HealthService, { check: (_call, callback) => callback(null, { status: 1 }), watch: (call) => call.end() });
const credentials = grpc.ServerCredentials.createSsl(
  readFileSync(env.TESSERA_TLS_CA_FILE),
  [{ cert_chain: readFileSync(env.TESSERA_TLS_CERT_FILE), private_key: readFileSync(env.TESSERA_TLS_KEY_FILE) }],
  true,
);
server.bindAsync(env.TESSERA_GRPC_LISTEN, credentials, (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log(JSON.stringify({ level: 'info', msg: 'gRPC server listening' }));
});
stop = () => server.forceShutdown();
`;
const FAKE_GATEWAY = `
import { createServer } from 'node:http';
const server = createServer((req, res) => {
  res.writeHead(req.url === '/_matrix/identity/v2' && mode !== '503' ? 200 : 503).end('{}');
});
server.listen(Number(process.env.TESSERA_HTTP_PORT), process.env.TESSERA_HTTP_HOST, () => console.log('listening'));
stop = () => server.close();
`;
const FAKE_WORKER = `
import { createServer } from 'node:http';
const [host, port] = process.env.TESSERA_METRICS_LISTEN.split(':');
const server = createServer((req, res) => res.writeHead(req.url === '/readyz' ? 200 : 404).end());
server.listen(Number(port), host, () => console.log('ready'));
stop = () => server.close();
`;

function fakeCheckout(root: string, services: Record<string, string>): void {
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages: []\n');
  for (const [name, body] of Object.entries(services)) {
    const dir = join(root, 'services', name, 'dist');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, 'services', name, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'main.js'), `const NAME = ${JSON.stringify(name)};\n${COMMON}\n${body}`);
  }
}

function collect(): { out: PassThrough; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { out, lines: () => text.split('\n').filter(Boolean) };
}

/** What a fake service recorded at its start: pid → {env, argv}. */
function recordedStarts(outDir: string, name: string): Array<{ env: Record<string, string>; argv: string[] }> {
  return readdirSync(outDir)
    .filter((file) => file.startsWith(`${name}-`) && file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(join(outDir, file), 'utf8')));
}

describe('the local runner (fake services, outside NATS and Postgres)', () => {
  const base = mkdtempSync(join(tmpdir(), 'runner-e2e-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'repo');
  mkdirSync(root);
  fakeCheckout(root, { signing: FAKE_GRPC_SERVICE, gateway: FAKE_GATEWAY });

  function runner(name: string, o: { healthTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    const outDir = join(base, `${name}-out`);
    mkdirSync(outDir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FAKE_OUT: outDir,
      TESSERA_DATA_DIR: name, // relative: resolved against cwd
      TESSERA_HTTP_PORT: '0',
      TESSERA_NATS_URL: 'nats://127.0.0.1:4999',
      TESSERA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/tessera',
      ...o.env,
    };
    const { out, lines } = collect();
    const local = new LocalRunner({
      config: loadConfig(env),
      env,
      cwd: base,
      out,
      repoRoot: root,
      backoff: { initialMs: 50, maxMs: 500, resetAfterMs: 30_000 },
      stopGraceMs: 2_000,
      healthTimeoutMs: o.healthTimeoutMs ?? 15_000,
    });
    const state = () => readStateFile(join(base, name, 'run', 'state.json')) as RunnerState;
    return { local, lines, outDir, state, dataDir: join(base, name) };
  }

  it('starts every built service, prints one ready line, restarts a killed service on its port and stops in reverse order', async () => {
    const { local, lines, outDir, state, dataDir } = runner('main');
    await local.start();
    const ready = lines().filter((line) => line.includes('ready on http://'));
    assert.equal(ready.length, 1);
    const match = /^runner {3}\| ready on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(ready[0] ?? '');
    assert.ok(match, ready[0]);
    assert.ok(lines().some((line) => line.startsWith('signing  | {"level":"info"')));
    assert.ok(lines().some((line) => line.startsWith('gateway  | listening')));

    const first = state();
    assert.equal(first.status, 'ready');
    assert.equal(first.pid, process.pid);
    assert.equal(first.httpUrl, match[1]);
    assert.equal(first.natsUrl, 'nats://127.0.0.1:4999');
    assert.equal(first.databaseUrl, 'postgres://postgres@127.0.0.1:5999/tessera');
    assert.equal(first.nats, null);
    assert.equal(first.postgres, null);
    assert.deepEqual(Object.keys(first.services), ['signing', 'gateway']);
    const signing = first.services.signing;
    assert.ok(signing?.pid && signing.grpcPort && signing.metricsPort);
    assert.equal(signing.restarts, 0);
    assert.ok(first.services.gateway?.pid);
    assert.equal(first.services.gateway?.grpcPort, undefined);

    const [signingStart] = recordedStarts(outDir, 'signing');
    const [gatewayStart] = recordedStarts(outDir, 'gateway');
    assert.ok(signingStart && gatewayStart);
    const keyFile = join(dataDir, 'signing', 'signing.key');
    assert.equal(signingStart.env.TESSERA_SIGNING_KEY_FILE, keyFile);
    assert.equal(signingStart.env.TESSERA_GRPC_LISTEN, `127.0.0.1:${signing.grpcPort}`);
    assert.equal(gatewayStart.env.TESSERA_SIGNING_ADDR, `127.0.0.1:${signing.grpcPort}`);
    assert.equal(gatewayStart.env.TESSERA_HTTP_PORT, match[2]);
    assert.equal(gatewayStart.env.TESSERA_PUBLIC_BASE_URL, match[1]);
    assert.ok(!JSON.stringify(gatewayStart).includes(keyFile), 'the gateway must not learn where the key is');
    assert.ok(!JSON.stringify(gatewayStart).includes('TESSERA_DATA_DIR'));
    assert.ok(existsSync(join(dataDir, 'pki', 'ca.pem')));

    // kill -9 signing, as the fault tests will.
    process.kill(signing.pid, 'SIGKILL');
    await until(
      () => (state().services.signing?.restarts ?? 0) === 1 && !!state().services.signing?.pid,
      'the restart',
    );
    const second = state().services.signing;
    assert.ok(second?.pid && second.pid !== signing.pid);
    assert.equal(second.grpcPort, signing.grpcPort);
    assert.ok(
      lines().some((line) =>
        /^runner {3}\| signing \(pid \d+\) was killed by SIGKILL after [\d.]+ s; restarting in 50 ms \(restart 1\)$/.test(
          line,
        ),
      ),
    );
    await until(() => recordedStarts(outDir, 'signing').length === 2, 'the second start');
    await until(() => lines().includes('runner   | signing is healthy again (restart 1)'), 'the recovery');
    assert.equal(recordedStarts(outDir, 'signing')[1]?.env.TESSERA_GRPC_LISTEN, `127.0.0.1:${signing.grpcPort}`);

    assert.equal(await local.stop('test over'), 0);
    assert.deepEqual(readFileSync(join(outDir, 'order.log'), 'utf8').split('\n').filter(Boolean), [
      'gateway',
      'signing',
    ]);
    const last = state();
    assert.equal(last.status, 'stopped');
    assert.equal(last.pid, null);
    assert.equal(last.services.signing?.pid, null);
    assert.equal(last.services.gateway?.pid, null);
    assert.ok(!isAlive(second.pid));
    assert.equal(await local.finished, 0);
  });

  it('writes no password of an outside server to its output or its state file, which only its user can read', async () => {
    const { local, lines, state, dataDir } = runner('secrets', {
      env: {
        TESSERA_NATS_URL: 'nats://svc:nats-pass-1@127.0.0.1:4999',
        TESSERA_DATABASE_URL: 'postgres://tessera:pg-pass-2@127.0.0.1:5999/tessera',
      },
    });
    await local.start();
    try {
      const stateFile = join(dataDir, 'run', 'state.json');
      const written = readFileSync(stateFile, 'utf8');
      for (const secret of ['nats-pass-1', 'pg-pass-2']) {
        assert.ok(!written.includes(secret), `state.json holds ${secret}`);
        assert.ok(!lines().some((line) => line.includes(secret)), `the output holds ${secret}`);
      }
      assert.equal(state().natsUrl, 'nats://svc:***@127.0.0.1:4999');
      assert.equal(state().databaseUrl, 'postgres://tessera:***@127.0.0.1:5999/tessera');
      assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    } finally {
      assert.equal(await local.stop('test over'), 0);
    }
    assert.equal(statSync(join(dataDir, 'run', 'state.json')).mode & 0o777, 0o600);
  });

  it('makes the server secret for the services that need it and catches their mail', async () => {
    const full = join(base, 'full-repo');
    mkdirSync(full);
    fakeCheckout(full, {
      signing: FAKE_GRPC_SERVICE,
      session: FAKE_GRPC_SERVICE,
      notifier: FAKE_WORKER,
      gateway: FAKE_GATEWAY,
    });
    const outDir = join(base, 'full-out');
    mkdirSync(outDir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      FAKE_OUT: outDir,
      TESSERA_DATA_DIR: 'full',
      TESSERA_HTTP_PORT: '0',
      TESSERA_NATS_URL: 'nats://127.0.0.1:4999',
      TESSERA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/tessera',
      TESSERA_RATE_LIMITS: 'off',
    };
    const dataDir = join(base, 'full');
    const state = () => readStateFile(join(dataDir, 'run', 'state.json')) as RunnerState;
    const MAIL = 'Subject: hello\r\n\r\nbody\r\n';
    const { out, lines } = collect();
    const local = new LocalRunner({ config: loadConfig(env), env, cwd: base, out, repoRoot: full, stopGraceMs: 2_000 });
    try {
      await local.start();

      const secretFile = join(dataDir, 'secrets', 'server.key');
      assert.match(readFileSync(secretFile, 'utf8'), /^[A-Za-z0-9+/]{43}=\n$/, '32 bytes, base64, one line');
      assert.equal(statSync(secretFile).mode & 0o777, 0o600);
      assert.equal(statSync(join(dataDir, 'secrets')).mode & 0o777, 0o700);
      assert.ok(lines().includes(`runner   | made a new server secret in ${secretFile}`));
      const started = Object.fromEntries(
        ['signing', 'session', 'notifier', 'gateway'].map((name) => [name, recordedStarts(outDir, name)[0]?.env]),
      );
      assert.equal(started.session?.TESSERA_SECRET_KEY_FILE, secretFile);
      assert.equal(started.gateway?.TESSERA_SECRET_KEY_FILE, secretFile);
      assert.equal(started.signing?.TESSERA_SECRET_KEY_FILE, undefined);
      assert.equal(started.notifier?.TESSERA_SECRET_KEY_FILE, undefined);
      assert.equal(started.gateway?.TESSERA_RATE_LIMITS, 'off');

      const { mail } = state();
      assert.ok(mail);
      assert.equal(mail.dir, join(dataDir, 'mail'));
      assert.match(mail.url, /^smtp:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(started.notifier?.TESSERA_SMTP_URL, mail.url);
      assert.equal(started.gateway?.TESSERA_SMTP_URL, undefined);
      const port = Number(new URL(mail.url).port);
      const servicePorts = Object.values(state().services).flatMap((service) => [
        service.metricsPort,
        service.grpcPort,
      ]);
      assert.ok(!servicePorts.includes(port), 'the mail catcher took a port planned for a service');
      const replies = await sendMail({
        host: '127.0.0.1',
        port,
        from: 'noreply@localhost',
        to: 'carol@example.org',
        message: MAIL,
      });
      assert.equal(replies.at(-1)?.code, 221);
      const files = readdirSync(mail.dir);
      assert.equal(files.length, 1);
      const saved = files[0] as string;
      assert.match(saved, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z-000001\.eml$/);
      assert.equal(readFileSync(join(mail.dir, saved), 'utf8'), MAIL);
      assert.ok(lines().includes(`mail     | saved ${saved} (${MAIL.length} bytes)`));
      assert.ok(!lines().some((line) => line.includes('carol@')));
    } finally {
      await local.stop('test over');
    }
    // Stopped after the services: nothing listens any more, and state.json still says where the mail is.
    const { mail } = state();
    assert.ok(mail);
    await assert.rejects(
      sendMail({ host: '127.0.0.1', port: Number(new URL(mail.url).port), from: 'a@x', to: 'b@x', message: 'x' }),
      /ECONNREFUSED/,
    );
    assert.equal(await local.finished, 0);
  });

  it('stops everything with exit code 1 when a service exits with 78, without restarting it', async () => {
    const { local, lines, outDir } = runner('config78');
    writeFileSync(join(outDir, 'signing.mode'), '78');
    await assert.rejects(local.start());
    assert.equal(await local.finished, 1);
    assert.equal(recordedStarts(outDir, 'signing').length, 1);
    assert.equal(recordedStarts(outDir, 'gateway').length, 0);
    assert.ok(lines().includes('signing  | TESSERA_SOMETHING: not valid'));
    assert.ok(
      lines().some((line) => line.includes('signing exited with code 78 (invalid configuration): not restarting it')),
    );
    assert.ok(!lines().some((line) => line.includes('ready on')));
  });

  it('names the service that never became healthy, stops everything and exits 1', async () => {
    // Long enough for the healthy fake signing to start on a loaded machine; the gateway never will.
    const { local, lines, outDir, state } = runner('unhealthy', { healthTimeoutMs: 3_000 });
    writeFileSync(join(outDir, 'gateway.mode'), '503');
    await assert.rejects(local.start(), (err: unknown) => err instanceof HealthTimeout && err.service === 'gateway');
    assert.equal(await local.finished, 1);
    assert.ok(
      lines().some((line) =>
        /^runner {3}\| gateway did not become healthy within 3 s \(GET http:.*; last: HTTP 503\)$/.test(line),
      ),
    );
    const signingPid = recordedStarts(outDir, 'signing').length;
    assert.equal(signingPid, 1);
    assert.equal(state().status, 'stopped');
    assert.deepEqual(readFileSync(join(outDir, 'order.log'), 'utf8').split('\n').filter(Boolean), [
      'gateway',
      'signing',
    ]);
  });

  it('keeps running without a gateway, says so, and prints no ready line', async () => {
    const partial = join(base, 'partial-repo');
    mkdirSync(partial);
    fakeCheckout(partial, { signing: FAKE_GRPC_SERVICE });
    const outDir = join(base, 'partial-out');
    mkdirSync(outDir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      FAKE_OUT: outDir,
      TESSERA_DATA_DIR: 'partial',
      TESSERA_HTTP_PORT: '0',
      TESSERA_NATS_URL: 'nats://127.0.0.1:4999',
      TESSERA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/tessera',
      // An outside mail server, too: the runner starts no mail catcher of its own.
      TESSERA_SMTP_URL: 'smtp://mailer:secret-pw@127.0.0.1:4998',
    };
    const { out, lines } = collect();
    const local = new LocalRunner({ config: loadConfig(env), env, cwd: base, out, repoRoot: partial });
    await local.start();
    assert.equal(local.status, 'running-without-gateway');
    assert.ok(
      lines().some((line) =>
        /^runner {3}\| no gateway is built \(.*services\/gateway\/dist\/main\.js is missing\)/.test(line),
      ),
    );
    assert.ok(!lines().some((line) => line.includes('ready on')));
    assert.equal(
      (readStateFile(join(base, 'partial', 'run', 'state.json')) as RunnerState).status,
      'running-without-gateway',
    );
    assert.equal((readStateFile(join(base, 'partial', 'run', 'state.json')) as RunnerState).mail, null);
    assert.ok(!existsSync(join(base, 'partial', 'mail')));
    assert.ok(!lines().some((line) => line.includes('secret-pw')), 'the SMTP password stays out of the log');
    assert.equal(await local.stop('test over'), 0);
  });

  it('refuses an HTTP port that is in use before starting anything', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        TESSERA_DATA_DIR: 'taken',
        TESSERA_HTTP_PORT: String(port),
        TESSERA_NATS_URL: 'nats://127.0.0.1:4999',
        TESSERA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/tessera',
      };
      const { out, lines } = collect();
      const local = new LocalRunner({ config: loadConfig(env), env, cwd: base, out, repoRoot: root });
      await assert.rejects(local.start(), /TESSERA_HTTP_PORT: 127\.0\.0\.1:\d+ is in use/);
      assert.equal(await local.finished, 78);
      assert.ok(!lines().some((line) => line.includes('started (pid')));
    } finally {
      server.close();
    }
  });

  it('refuses a data dir that a live runner uses', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const { local, dataDir } = runner('busy');
      mkdirSync(join(dataDir, 'run'), { recursive: true });
      writeFileSync(join(dataDir, 'run', 'state.json'), JSON.stringify({ pid: other.pid, status: 'ready' }));
      await assert.rejects(local.start(), /is in use by the runner with pid \d+/);
      assert.equal(await local.finished, 78);
      assert.deepEqual(readStateFile(join(dataDir, 'run', 'state.json')), { pid: other.pid, status: 'ready' });
    } finally {
      other.kill('SIGKILL');
    }
  });
});

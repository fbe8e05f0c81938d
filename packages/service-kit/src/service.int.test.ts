import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type Config, ConfigError, loadConfig } from '@tessera/config';
import type { Database } from '@tessera/db';
import { TemporarilyUnavailable } from '@tessera/errors';
import { startPostgres as restartPostgres } from '@tessera/local-infra';
import { provision } from '@tessera/nats-access';
import { captureLogs, startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import { connect, type NatsConnection } from 'nats';
import { createLogger } from './logger.js';
import { type DatabaseNeed, startService } from './service.js';
import { runShutdownSteps, ShutdownPlan } from './shutdown.js';

// The skeleton on a real nats-server. The projector's identity: what it needs (TESSERA_EVENTS, the
// data-key bucket) exists once provisioned; this server has no auth, so no credentials are given.
const NAME = 'projector';

let nats: TestNats;
before(async () => {
  nats = await startNats();
  const admin = await connect({ servers: nats.url });
  await provision(admin);
  await admin.close();
});
after(() => nats?.stop());

const configWith = (env: Record<string, string> = {}): Config =>
  loadConfig({ TESSERA_NATS_URL: nats.url, TESSERA_METRICS_LISTEN: '127.0.0.1:0', ...env });

async function readyz(port: number): Promise<{ status: number; failing: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, failing: ((await res.json()) as { failing: string[] }).failing };
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How many clients the nats-server has now (its monitoring endpoint). */
async function natsClients(): Promise<number> {
  const res = await fetch(`${nats.monitorUrl}/connz`);
  return ((await res.json()) as { num_connections: number }).num_connections;
}

describe('the service skeleton', () => {
  it('stops what the service serves first, then what it opened (newest first), then NATS, the admin port last', async () => {
    const { log } = captureLogs((out) => createLogger(NAME, 'silent', out));
    const shutdown = new ShutdownPlan();
    const seen: string[] = [];
    let nc: NatsConnection | undefined;
    let adminPort = 0;
    const step = (name: string) => ({
      name,
      run: async () => {
        const admin = await fetch(`http://127.0.0.1:${adminPort}/healthz`).then((res) => res.status);
        seen.push(`${name} (NATS ${nc?.isClosed() ? 'closed' : 'open'}, admin ${admin})`);
      },
    });
    const running = await startService(
      NAME,
      {
        nats: true,
        start: async (context) => {
          nc = context.nc;
          context.onStop(step('mail connections'));
          context.onStop(step('watches'));
          return step('consumer');
        },
      },
      { config: configWith(), log, shutdown },
    );
    adminPort = running.adminPort;
    assert.deepEqual(
      shutdown.steps().map((s) => s.name),
      ['consumer', 'watches', 'mail connections', 'NATS', 'admin server'],
    );

    await runShutdownSteps(log, shutdown.steps());
    assert.deepEqual(seen, [
      'consumer (NATS open, admin 200)',
      'watches (NATS open, admin 200)',
      'mail connections (NATS open, admin 200)',
    ]);
    assert.ok(nc?.isClosed(), 'NATS drained');
    await assert.rejects(fetch(`http://127.0.0.1:${adminPort}/healthz`), 'the admin port is closed');
  });

  it('says /readyz `starting` until the wiring is done, then follows NATS and what the service added', async () => {
    const { log, lines } = captureLogs((out) => createLogger(NAME, 'info', out));
    const shutdown = new ShutdownPlan();
    let consumerAttached = true;
    let wired!: () => void;
    const wiring = new Promise<void>((resolve) => {
      wired = resolve;
    });
    const started = startService(
      NAME,
      {
        nats: true,
        start: async ({ addReadiness }) => {
          addReadiness({ name: 'consumer', isReady: () => consumerAttached });
          await wiring;
          return { name: 'consumer', run: async () => {} };
        },
      },
      { config: configWith(), log, shutdown },
    );
    try {
      let port = 0;
      await until(async () => {
        port = Number(lines.find((line) => line.msg.startsWith('admin server listening'))?.port ?? 0);
        return port > 0;
      }, 'the admin port listens');
      assert.deepEqual(await readyz(port), { status: 503, failing: ['starting'] });
      wired();
      await started;
      assert.deepEqual(await readyz(port), { status: 200, failing: [] });

      consumerAttached = false;
      assert.deepEqual(await readyz(port), { status: 503, failing: ['consumer'] });
      consumerAttached = true;

      nats.kill();
      await until(async () => (await readyz(port)).status === 503, '/readyz sees NATS gone');
      assert.deepEqual(await readyz(port), { status: 503, failing: ['nats'] });
      await nats.restart();
      await until(async () => (await readyz(port)).status === 200, '/readyz sees NATS back');
    } finally {
      wired();
      await started.catch(() => {});
      await runShutdownSteps(log, shutdown.steps());
    }
  });

  describe('refuses a bad setting before anything opens, naming the key', () => {
    // The admin port would fail on this port (it is taken), and nats-server would count a client:
    // the start must fail on the setting without either.
    let taken: ReturnType<typeof createServer>;
    let takenPort: number;
    before(async () => {
      taken = createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      takenPort = (taken.address() as { port: number }).port;
      await until(async () => (await natsClients()) === 0, 'the clients of the tests before have gone');
    });
    after(() => taken?.close());

    const refusal = async (
      env: Record<string, string | undefined>,
      settings: () => unknown,
      servesGrpc = false,
      database?: DatabaseNeed,
    ) => {
      const { log } = captureLogs((out) => createLogger(NAME, 'silent', out));
      const shutdown = new ShutdownPlan();
      let startCalled = false;
      const config = { ...configWith({ TESSERA_METRICS_LISTEN: `127.0.0.1:${takenPort}` }), ...env } as Config;
      const start = startService(
        NAME,
        {
          nats: true,
          servesGrpc,
          settings,
          ...(database && { database }),
          start: async () => {
            startCalled = true;
            return { name: 'nothing', run: async () => {} };
          },
        },
        { config, log, shutdown },
      );
      const error = await start.then(
        () => assert.fail('started'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(startCalled, false);
      assert.deepEqual(shutdown.steps(), [], 'nothing was opened');
      assert.equal(await natsClients(), 0, 'nothing connected to NATS');
      return error.message;
    };

    it("the service's own setting", async () => {
      const message = await refusal({}, () => {
        throw new ConfigError('TESSERA_TERMS_FILE: not a terms file');
      });
      assert.match(message, /^TESSERA_TERMS_FILE: /);
    });

    it('TESSERA_NATS_URL, before the service reads its own', async () => {
      let settingsRead = false;
      const message = await refusal({ TESSERA_NATS_URL: undefined }, () => {
        settingsRead = true;
      });
      assert.match(message, /^TESSERA_NATS_URL: required by projector/);
      assert.equal(settingsRead, false);
    });

    it('TESSERA_DATABASE_URL, after NATS and before the service reads its own', async () => {
      let settingsRead = false;
      const settings = () => {
        settingsRead = true;
      };
      const message = await refusal({ TESSERA_DATABASE_URL: undefined }, settings, false, { migrate: true });
      assert.match(message, /^TESSERA_DATABASE_URL: required by projector/);
      assert.equal(settingsRead, false);
      const both = await refusal(
        { TESSERA_NATS_URL: undefined, TESSERA_DATABASE_URL: undefined },
        settings,
        false,
        true,
      );
      assert.match(both, /^TESSERA_NATS_URL: /);
    });

    it('the TLS files of a service that serves gRPC, before anything else', async () => {
      let settingsRead = false;
      const message = await refusal(
        { TESSERA_NATS_URL: undefined },
        () => {
          settingsRead = true;
        },
        true,
      );
      assert.match(message, /TESSERA_TLS_CA_FILE, TESSERA_TLS_CERT_FILE, TESSERA_TLS_KEY_FILE: required/);
      assert.equal(settingsRead, false);
    });
  });

  it('handles SIGTERM from before it says it listens: the steps registered so far run in order, and it exits 0', async () => {
    // A service whose wiring says it listens and never finishes starting: without handlers in place
    // by then, the kernel's default action would kill it on the signal (no exit code, no "stopped").
    const script = `
      import { runService } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
      runService(${JSON.stringify(NAME)}, {
        nats: true,
        start: async ({ log, onStop }) => {
          onStop({ name: 'watches', run: async () => log.info('watches closed') });
          log.info('listening');
          return new Promise(() => {});
        },
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', TESSERA_NATS_URL: nats.url, TESSERA_METRICS_LISTEN: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const messages: string[] = [];
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const lines = createInterface({ input: child.stdout ?? assert.fail('no stdout') });
    for await (const line of lines) {
      const msg = (JSON.parse(line) as { msg: string }).msg;
      messages.push(msg);
      if (msg === 'listening') child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
    const after = messages.slice(messages.indexOf('listening'));
    // The service's own step before the NATS backend's; the client's "closed" line is its own
    // callback, whose place beside "stopped" this test does not pin (it came after it in two full-suite runs).
    assert.deepEqual(after.slice(0, 3), ['listening', 'shutting down', 'watches closed']);
    assert.deepEqual(after.slice(3).sort(), ['NATS connection closed', 'stopped']);
  });
});

describe('the service skeleton with PostgreSQL', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.stop());
  const withDatabase = (env: Record<string, string> = {}) => configWith({ TESSERA_DATABASE_URL: pg.url, ...env });

  it('connects it after NATS, migrates when asked, and closes it after what the service opened, before NATS drains', async () => {
    const { log, lines } = captureLogs((out) => createLogger(NAME, 'info', out));
    const shutdown = new ShutdownPlan();
    const seen: string[] = [];
    let db: Kysely<Database> | undefined;
    let nc: NatsConnection | undefined;
    const answers = async () =>
      db === undefined
        ? 'none'
        : await sql`select 1`.execute(db).then(
            () => 'answers',
            () => 'closed',
          );
    const step = (name: string) => ({
      name,
      run: async () =>
        void seen.push(`${name} (database ${await answers()}, NATS ${nc?.isClosed() ? 'closed' : 'open'})`),
    });
    await startService(
      NAME,
      {
        nats: true,
        database: { migrate: true },
        start: async (context) => {
          db = context.db;
          nc = context.nc;
          // Migrated before the wiring runs: the checkpoint table is there.
          await context.db.selectFrom('projector_checkpoint').selectAll().execute();
          context.onStop(step('watches'));
          return step('consumer');
        },
      },
      { config: withDatabase({ TESSERA_DATABASE_POOL_SIZE: '3' }), log, shutdown },
    );
    assert.deepEqual(
      shutdown.steps().map((s) => s.name),
      ['consumer', 'watches', 'PostgreSQL', 'NATS', 'admin server'],
    );
    const connected = lines.find((line) => line.msg === 'connected to PostgreSQL');
    assert.equal(connected?.poolSize, 3);
    assert.equal(connected?.server, pg.url.replace(/^postgres:\/\/[^@]*@/, 'postgres://postgres@'));
    assert.ok(lines.some((line) => line.msg === 'migration applied'));

    await runShutdownSteps(log, shutdown.steps());
    assert.deepEqual(seen, ['consumer (database answers, NATS open)', 'watches (database answers, NATS open)']);
    assert.equal(await answers(), 'closed', 'the pool is closed');
    assert.ok(nc?.isClosed(), 'NATS drained');
  });

  it('stops a start whose database URL names a database the server does not have, naming TESSERA_DATABASE_URL', async () => {
    const { log } = captureLogs((out) => createLogger(NAME, 'silent', out));
    const shutdown = new ShutdownPlan();
    const url = pg.url.replace(/\/[^/]+$/, '/no_such_database');
    const error = await startService(
      NAME,
      { nats: true, database: true, start: async () => ({ name: 'nothing', run: async () => {} }) },
      { config: configWith({ TESSERA_DATABASE_URL: url }), log, shutdown },
    ).then(
      () => assert.fail('started'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, /^TESSERA_DATABASE_URL: .* has no such database/);
  });

  // Last: it leaves PostgreSQL stopped.
  it('says /readyz `postgres` while it does not answer, and queries fail as temporarily unavailable', async () => {
    const { log, lines } = captureLogs((out) => createLogger(NAME, 'info', out));
    const shutdown = new ShutdownPlan();
    let db: Kysely<Database> | undefined;
    const running = await startService(
      NAME,
      {
        nats: true,
        database: true,
        start: async (context) => {
          db = context.db;
          return { name: 'nothing', run: async () => {} };
        },
      },
      { config: withDatabase(), log, shutdown },
    );
    let restarted: Awaited<ReturnType<typeof restartPostgres>> | undefined;
    try {
      assert.deepEqual(await readyz(running.adminPort), { status: 200, failing: [] });
      pg.server.kill();
      await until(async () => (await readyz(running.adminPort)).status === 503, '/readyz sees PostgreSQL gone');
      assert.deepEqual(await readyz(running.adminPort), { status: 503, failing: ['postgres'] });
      await assert.rejects(sql`select 1`.execute(db as Kysely<Database>), TemporarilyUnavailable);
      assert.ok(lines.some((line) => line.msg === 'PostgreSQL does not answer'));

      restarted = await restartPostgres({ dataDir: pg.dataDir, port: pg.port, fsync: false, log: () => {} });
      await until(async () => (await readyz(running.adminPort)).status === 200, '/readyz sees PostgreSQL back');
    } finally {
      await runShutdownSteps(log, shutdown.steps());
      await restarted?.stop();
    }
  });
});

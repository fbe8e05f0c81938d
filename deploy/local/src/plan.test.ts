import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, readSources } from '@tessera/config';
import { builtServices, localUrl, type PlanInput, planRun, serviceMainPath } from './plan.js';
import type { PortPlan } from './ports.js';
import { SERVICES, type ServiceName } from './services.js';

const DATA = '/srv/tessera-data';
const ROOT = '/repo';
const PORTS: PortPlan = {
  signing: [{ grpcPort: 41001, metricsPort: 42001 }],
  session: [{ grpcPort: 41002, metricsPort: 42002, adminPort: 43002 }],
  directory: [{ grpcPort: 41003, metricsPort: 42003, adminPort: 43003 }],
  invite: [{ grpcPort: 41004, metricsPort: 42004, adminPort: 43004 }],
  projector: [{ metricsPort: 42005 }],
  notifier: [{ metricsPort: 42006 }],
  gateway: [{ metricsPort: 42007 }],
};

/** A plan for every service, from the runner environment `env` (TESSERA_* included). */
function plan(env: NodeJS.ProcessEnv, overrides: Partial<PlanInput> = {}) {
  return planRun({
    env: { PATH: '/usr/bin:/bin', HOME: '/home/op', LANG: 'C.UTF-8', ...env },
    settings: readSources(env),
    config: loadConfig(env),
    cwd: '/work/op',
    dataDir: DATA,
    repoRoot: ROOT,
    services: SERVICES,
    ports: PORTS,
    http: { host: '127.0.0.1', port: 18090 },
    natsUrl: 'nats://127.0.0.1:4333',
    databaseUrl: 'postgres://postgres@127.0.0.1:5444/tessera',
    tls: (name: ServiceName) => ({
      caFile: `${DATA}/pki/ca.pem`,
      certFile: `${DATA}/pki/${name}.pem`,
      keyFile: `${DATA}/pki/${name}-key.pem`,
    }),
    node: { command: '/usr/bin/node', args: [] },
    ...overrides,
  });
}

function envOf(run: ReturnType<typeof plan>, name: string) {
  const child = run.children.find((candidate) => candidate.name === name);
  assert.ok(child, `no plan for ${name}`);
  return child.env;
}

/** Every child's environment values and arguments, as one string per child. */
function everythingOf(run: ReturnType<typeof plan>, name: string): string {
  const child = run.children.find((candidate) => candidate.name === name);
  assert.ok(child);
  return JSON.stringify([child.env, child.args]);
}

describe('the run plan', () => {
  it('starts each replica on ports of its own, and points every client at all replicas of a service', () => {
    const ports: PortPlan = {
      ...PORTS,
      directory: [...(PORTS.directory ?? []), { grpcPort: 41013, metricsPort: 42013, adminPort: 43013 }],
      gateway: [...(PORTS.gateway ?? []), { metricsPort: 42017, httpPort: 18091 }],
    };
    const run = plan({ TESSERA_LOCAL_REPLICAS: 'directory=2,gateway=2', TESSERA_LOCAL_NATS_NODES: '3' }, { ports });
    assert.deepEqual(
      run.children.map((child) => child.name),
      ['signing', 'session', 'projector', 'directory', 'directory-2', 'invite', 'notifier', 'gateway', 'gateway-2'],
    );
    const second = run.children.find((child) => child.name === 'directory-2');
    assert.equal(second?.service, 'directory');
    assert.equal(second?.env.TESSERA_GRPC_LISTEN, '127.0.0.1:41013');
    assert.equal(second?.env.TESSERA_DIRECTORY_ADMIN_LISTEN, '127.0.0.1:43013');
    assert.ok(second?.env.TESSERA_SECRET_KEY_FILE, 'a replica of a secret holder holds the secret');
    assert.equal(second?.env.TESSERA_NATS_CREDENTIALS_FILE, envOf(run, 'directory').TESSERA_NATS_CREDENTIALS_FILE);
    for (const child of run.children) {
      assert.equal(child.env.TESSERA_DIRECTORY_ADDR, '127.0.0.1:41003,127.0.0.1:41013', child.name);
      assert.equal(child.env.TESSERA_SIGNING_ADDR, '127.0.0.1:41001', child.name);
      assert.equal(child.env.TESSERA_LOCAL_REPLICAS, undefined, child.name);
      assert.equal(child.env.TESSERA_LOCAL_NATS_NODES, undefined, child.name);
    }
    const gateway2 = run.children.find((child) => child.name === 'gateway-2');
    assert.equal(gateway2?.env.TESSERA_HTTP_PORT, '18091');
    assert.equal(gateway2?.httpUrl, 'http://127.0.0.1:18091');
    assert.equal(gateway2?.healthTarget, 'http://127.0.0.1:18091/_matrix/identity/v2');
    assert.equal(envOf(run, 'gateway').TESSERA_HTTP_PORT, '18090');
    assert.equal(gateway2?.env.TESSERA_PUBLIC_BASE_URL, 'http://127.0.0.1:18090', 'links name the first gateway');
  });

  const dir = mkdtempSync(join(tmpdir(), 'runner-plan-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the signing key file to the signing child only, under the data dir by default', () => {
    const run = plan({});
    const keyFile = `${DATA}/signing/signing.key`;
    assert.equal(run.signingKeyFile, keyFile);
    assert.equal(envOf(run, 'signing').TESSERA_SIGNING_KEY_FILE, keyFile);
    for (const child of run.children.filter((candidate) => candidate.name !== 'signing')) {
      assert.equal(child.env.TESSERA_SIGNING_KEY_FILE, undefined, child.name);
      assert.ok(!everythingOf(run, child.name).includes(keyFile), child.name);
      // Nor the data dir the default key file is derived from.
      assert.equal(child.env.TESSERA_DATA_DIR, undefined, child.name);
    }
  });

  it("strips the operator's key file setting from every child but signing, and makes it absolute", () => {
    const run = plan({ TESSERA_SIGNING_KEY_FILE: 'keys/prod.key' });
    assert.equal(envOf(run, 'signing').TESSERA_SIGNING_KEY_FILE, '/work/op/keys/prod.key');
    for (const child of run.children.filter((candidate) => candidate.name !== 'signing')) {
      assert.ok(!everythingOf(run, child.name).includes('prod.key'), child.name);
    }
  });

  it('does not hand the YAML file on: its settings become variables, and the key file one reaches signing only', () => {
    const file = join(dir, 'tessera.yaml');
    writeFileSync(file, 'TESSERA_SIGNING_KEY_FILE: /secrets/signing.key\nTESSERA_SERVER_NAME: id.example.org\n');
    const run = plan({ TESSERA_CONFIG: file });
    for (const child of run.children) {
      assert.equal(child.env.TESSERA_CONFIG, undefined, child.name);
      assert.equal(child.env.TESSERA_SERVER_NAME, 'id.example.org', child.name);
    }
    assert.equal(envOf(run, 'signing').TESSERA_SIGNING_KEY_FILE, '/secrets/signing.key');
    for (const child of run.children.filter((candidate) => candidate.name !== 'signing')) {
      assert.ok(!everythingOf(run, child.name).includes('/secrets/signing.key'), child.name);
    }
  });

  it('refuses a plan in which another setting names the key file', () => {
    assert.throws(
      () => plan({ TESSERA_SIGNING_KEY_FILE: '/secrets/signing.key', TESSERA_TERMS_FILE: '/secrets/signing.key' }),
      (err: unknown) => err instanceof ConfigError && /TESSERA_TERMS_FILE \(given to \w+\)/.test(err.message),
    );
    assert.throws(() => plan({ TESSERA_TEMPLATES_DIR: `${DATA}/signing/../signing/signing.key` }), ConfigError);
  });

  it('gives the server secret to session, directory, invite and gateway, and to no other service', () => {
    const run = plan({});
    const secretFile = `${DATA}/secrets/server.key`;
    assert.equal(run.secretKeyFile, secretFile);
    const holders = run.children.filter((child) => child.env.TESSERA_SECRET_KEY_FILE !== undefined);
    assert.deepEqual(
      holders.map((child) => [child.name, child.env.TESSERA_SECRET_KEY_FILE]),
      [
        ['session', secretFile],
        ['directory', secretFile],
        ['invite', secretFile],
        ['gateway', secretFile],
      ],
    );
    for (const name of ['signing', 'projector', 'notifier'] as const) {
      assert.ok(!everythingOf(run, name).includes(secretFile), name);
    }
  });

  it("gives the operator's secret file, made absolute, to the same services only", () => {
    const run = plan({ TESSERA_SECRET_KEY_FILE: 'secrets/prod-server.key' });
    assert.equal(run.secretKeyFile, '/work/op/secrets/prod-server.key');
    assert.deepEqual(
      run.children.filter((child) => child.env.TESSERA_SECRET_KEY_FILE !== undefined).map((child) => child.name),
      ['session', 'directory', 'invite', 'gateway'],
    );
    assert.equal(envOf(run, 'gateway').TESSERA_SECRET_KEY_FILE, '/work/op/secrets/prod-server.key');
    for (const name of ['signing', 'projector', 'notifier'] as const) {
      assert.ok(!everythingOf(run, name).includes('prod-server.key'), name);
    }
  });

  it('refuses a secret file that is the signing key, and a setting that hands the secret to another service', () => {
    assert.throws(
      () => plan({ TESSERA_SIGNING_KEY_FILE: '/secrets/signing.key', TESSERA_SECRET_KEY_FILE: '/secrets/signing.key' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^TESSERA_SECRET_KEY_FILE \(given to session\): names the signing key file/.test(err.message),
    );
    assert.throws(
      () => plan({ TESSERA_TERMS_FILE: `${DATA}/secrets/server.key` }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^TESSERA_TERMS_FILE \(given to signing\): names the server secret file, which only session, directory, invite, gateway may read$/.test(
          err.message,
        ),
    );
  });

  it("gives the mail catcher's URL to the notifier, and the operator's SMTP server to it otherwise", () => {
    const caught = plan({}, { mailCatcherUrl: 'smtp://127.0.0.1:40025' });
    assert.deepEqual(
      caught.children.filter((child) => child.env.TESSERA_SMTP_URL !== undefined).map((child) => child.name),
      ['notifier'],
    );
    assert.equal(envOf(caught, 'notifier').TESSERA_SMTP_URL, 'smtp://127.0.0.1:40025');
    const operator = plan({ TESSERA_SMTP_URL: 'smtps://mailer:pw@smtp.example.org:465' });
    assert.equal(envOf(operator, 'notifier').TESSERA_SMTP_URL, 'smtps://mailer:pw@smtp.example.org:465');
  });

  it('gives the mail server and the SMS provider account to the notifier only', () => {
    const settings = {
      TESSERA_SMTP_URL: 'smtps://mailer:pw@smtp.example.org:465',
      TESSERA_SMS_PROVIDER: 'twilio',
      TESSERA_SMS_URL: 'http://127.0.0.1:45111',
      TESSERA_SMS_USERNAME: 'AC123',
      TESSERA_SMS_PASSWORD: 'sms-password',
      TESSERA_SMS_FROM: '+15550001111',
    };
    const run = plan(settings);
    for (const child of run.children) {
      for (const [key, value] of Object.entries(settings))
        assert.equal(child.env[key], child.name === 'notifier' ? value : undefined, `${key} for ${child.name}`);
    }
  });

  it('passes the settings the end-to-end tests give the runner through to every child, as the operator wrote them', () => {
    const settings = {
      TESSERA_RATE_LIMITS: 'off',
      TESSERA_CLOCK_OFFSET_FILE: '/tmp/e2e/clock-offset',
      TESSERA_TERMS_FILE: 'fixtures/terms.yaml',
      TESSERA_TEMPLATES_DIR: '/tmp/e2e/templates',
      TESSERA_DEFAULT_BRAND: 'vector-im',
      TESSERA_OUTBOUND_VERIFY_TLS: 'false',
      TESSERA_DELIVERY_WAIT_MS: '3000',
      TESSERA_TOKEN_MAX_FAILURES: '3',
      TESSERA_HOMESERVER_ALLOW: 'hs.localhost',
      TESSERA_RATE_LIMIT_IP: '5/60s',
    };
    const run = plan(settings);
    for (const child of run.children) {
      for (const [key, value] of Object.entries(settings))
        assert.equal(child.env[key], value, `${key} for ${child.name}`);
    }
  });

  it("passes the operator's other settings and the runner's own environment to every child", () => {
    const run = plan({ TESSERA_RATE_LIMITS: 'off' });
    for (const child of run.children) {
      assert.equal(child.env.TESSERA_RATE_LIMITS, 'off');
      assert.equal(child.env.PATH, '/usr/bin:/bin');
      assert.equal(child.env.HOME, '/home/op');
      assert.equal(child.env.LANG, 'C.UTF-8');
      assert.equal(child.env.TESSERA_NATS_URL, 'nats://127.0.0.1:4333');
      assert.equal(child.env.TESSERA_DATABASE_URL, 'postgres://postgres@127.0.0.1:5444/tessera');
      assert.equal(child.env.TESSERA_SERVER_NAME, 'localhost');
      assert.equal(child.env.TESSERA_LOG_LEVEL, 'info');
      assert.equal(child.env.TESSERA_HTTP_PORT, '18090');
      assert.equal(child.env.TESSERA_SIGNING_ADDR, '127.0.0.1:41001');
      assert.equal(child.env.TESSERA_SESSION_ADDR, '127.0.0.1:41002');
      assert.equal(child.env.TESSERA_DIRECTORY_ADDR, '127.0.0.1:41003');
      assert.equal(child.env.TESSERA_INVITE_ADDR, '127.0.0.1:41004');
      // Outbound HTTP reaches no private or loopback address unless the operator allows it.
      assert.equal(child.env.TESSERA_OUTBOUND_ALLOW, undefined);
    }
    for (const child of plan({ TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8' }).children)
      assert.equal(child.env.TESSERA_OUTBOUND_ALLOW, '127.0.0.0/8');
  });

  it("gives each service its own NATS credentials, never the directory of all of them, and admin's to none", () => {
    const dir = `${DATA}/nats/identities`;
    const files = new Map(
      (
        ['admin', 'signing', 'session', 'notifier', 'gateway', 'directory', 'invite', 'projector', 'analytics'] as const
      ).map((identity) => [identity, `${dir}/${identity}.nk`] as const),
    );
    const natsIdentities = { dir, files, fileOf: (identity: string) => files.get(identity as 'admin') };
    const run = plan(
      { TESSERA_NATS_IDENTITIES_DIR: dir, TESSERA_NATS_CREDENTIALS_FILE: '/x/op.nk' },
      { natsIdentities },
    );
    for (const child of run.children) {
      assert.equal(child.env.TESSERA_NATS_CREDENTIALS_FILE, `${dir}/${child.name}.nk`, child.name);
      assert.equal(child.env.TESSERA_NATS_IDENTITIES_DIR, undefined, child.name);
      for (const [identity, file] of files)
        if (identity !== child.name)
          assert.ok(!everythingOf(run, child.name).includes(file), `${child.name} has ${identity}'s`);
    }
    assert.ok(run.warnings.some((warning) => warning.startsWith('TESSERA_NATS_CREDENTIALS_FILE is ignored')));
    assert.throws(
      () => plan({ TESSERA_TERMS_FILE: `${dir}/admin.nk` }, { natsIdentities }),
      (err: Error) => err instanceof ConfigError && /names the NATS credentials of admin/.test(err.message),
    );
  });

  it('gives each child its own listen addresses and certificate', () => {
    const run = plan({});
    const signing = envOf(run, 'signing');
    assert.equal(signing.TESSERA_GRPC_LISTEN, '127.0.0.1:41001');
    assert.equal(signing.TESSERA_METRICS_LISTEN, '127.0.0.1:42001');
    assert.equal(signing.TESSERA_TLS_CA_FILE, `${DATA}/pki/ca.pem`);
    assert.equal(signing.TESSERA_TLS_CERT_FILE, `${DATA}/pki/signing.pem`);
    assert.equal(signing.TESSERA_TLS_KEY_FILE, `${DATA}/pki/signing-key.pem`);
    const gateway = envOf(run, 'gateway');
    assert.equal(gateway.TESSERA_GRPC_LISTEN, undefined);
    assert.equal(gateway.TESSERA_METRICS_LISTEN, '127.0.0.1:42007');
    assert.equal(gateway.TESSERA_TLS_KEY_FILE, `${DATA}/pki/gateway-key.pem`);
    assert.equal(envOf(run, 'projector').TESSERA_GRPC_LISTEN, undefined);
  });

  it('turns the admin APIs of session, directory and invite on, on loopback, each for its own service, unless the operator chose the address', () => {
    const run = plan({});
    const adminUrlOf = (name: ServiceName, of = run) => of.children.find((child) => child.name === name)?.adminUrl;
    const expected = [
      { name: 'session', setting: 'TESSERA_SESSION_ADMIN_LISTEN', port: 43002 },
      { name: 'directory', setting: 'TESSERA_DIRECTORY_ADMIN_LISTEN', port: 43003 },
      { name: 'invite', setting: 'TESSERA_INVITE_ADMIN_LISTEN', port: 43004 },
    ] as const;
    for (const { name, setting, port } of expected) {
      assert.equal(envOf(run, name)[setting], `127.0.0.1:${port}`, name);
      assert.equal(adminUrlOf(name), `http://127.0.0.1:${port}`, name);
      for (const other of SERVICES.filter((service) => service.name !== name))
        assert.equal(envOf(run, other.name)[setting], undefined, `${other.name} has ${setting}`);
    }
    for (const other of SERVICES.filter((service) => !expected.some(({ name }) => name === service.name)))
      assert.equal(adminUrlOf(other.name), undefined, other.name);
    const chosen = plan({
      TESSERA_SESSION_ADMIN_LISTEN: '127.0.0.1:9443',
      TESSERA_DIRECTORY_ADMIN_LISTEN: '0.0.0.0:9444',
      TESSERA_INVITE_ADMIN_LISTEN: '127.0.0.1:9445',
    });
    assert.equal(envOf(chosen, 'session').TESSERA_SESSION_ADMIN_LISTEN, '127.0.0.1:9443');
    assert.equal(adminUrlOf('session', chosen), 'http://127.0.0.1:9443');
    assert.equal(envOf(chosen, 'directory').TESSERA_DIRECTORY_ADMIN_LISTEN, '0.0.0.0:9444');
    assert.equal(adminUrlOf('directory', chosen), 'http://127.0.0.1:9444');
    assert.equal(envOf(chosen, 'invite').TESSERA_INVITE_ADMIN_LISTEN, '127.0.0.1:9445');
    assert.equal(adminUrlOf('invite', chosen), 'http://127.0.0.1:9445');
  });

  it("overrides the operator's per-service addresses, and says so", () => {
    const run = plan({ TESSERA_GRPC_LISTEN: '0.0.0.0:50051', TESSERA_SIGNING_ADDR: '10.0.0.5:50051' });
    assert.equal(envOf(run, 'session').TESSERA_GRPC_LISTEN, '127.0.0.1:41002');
    assert.equal(envOf(run, 'gateway').TESSERA_GRPC_LISTEN, undefined);
    assert.equal(envOf(run, 'gateway').TESSERA_SIGNING_ADDR, '127.0.0.1:41001');
    assert.deepEqual(run.warnings, [
      'TESSERA_GRPC_LISTEN is ignored: the runner assigns it to each service itself',
      'TESSERA_SIGNING_ADDR is ignored: the runner assigns it to each service itself',
    ]);
  });

  it('points the public base URL at the real HTTP port unless the operator set one', () => {
    assert.equal(plan({}).publicBaseUrl, 'http://127.0.0.1:18090');
    assert.equal(envOf(plan({}), 'notifier').TESSERA_PUBLIC_BASE_URL, 'http://127.0.0.1:18090');
    const set = plan({ TESSERA_PUBLIC_BASE_URL: 'https://id.example.org/' });
    assert.equal(envOf(set, 'notifier').TESSERA_PUBLIC_BASE_URL, 'https://id.example.org');
  });

  it('runs each service from services/<name>/dist/main.js and checks health the way the service serves it', () => {
    const run = plan({});
    const signing = run.children.find((child) => child.name === 'signing');
    assert.deepEqual(signing?.args, ['/repo/services/signing/dist/main.js']);
    assert.equal(signing?.cwd, '/work/op');
    assert.deepEqual(
      run.children.map((child) => [child.name, child.health, child.healthTarget]),
      [
        ['signing', 'grpc', '127.0.0.1:41001'],
        ['session', 'grpc', '127.0.0.1:41002'],
        ['projector', 'worker', 'http://127.0.0.1:42005/readyz'],
        ['directory', 'grpc', '127.0.0.1:41003'],
        ['invite', 'grpc', '127.0.0.1:41004'],
        ['notifier', 'worker', 'http://127.0.0.1:42006/readyz'],
        ['gateway', 'http-api', 'http://127.0.0.1:18090/_matrix/identity/v2'],
      ],
    );
  });

  it('starts only the services that are built, in start order', () => {
    const built = new Set([serviceMainPath(ROOT, 'gateway'), serviceMainPath(ROOT, 'signing')]);
    const services = builtServices(ROOT, SERVICES, (path) => built.has(path));
    assert.deepEqual(
      services.map((service) => service.name),
      ['signing', 'gateway'],
    );
    assert.deepEqual(
      plan({}, { services }).children.map((child) => child.name),
      ['signing', 'gateway'],
    );
  });

  it('reaches a wildcard listener through loopback', () => {
    assert.equal(localUrl('0.0.0.0', 80), 'http://127.0.0.1:80');
    assert.equal(localUrl('::', 80), 'http://[::1]:80');
    assert.equal(localUrl('::1', 80), 'http://[::1]:80');
    assert.equal(localUrl('localhost', 8090), 'http://localhost:8090');
  });
});

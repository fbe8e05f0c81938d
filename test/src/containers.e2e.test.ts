import assert from 'node:assert/strict';
import { execFile as execFileCallback } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startSmtpServer, startTcpRelay, type TcpRelay, type TestSmtpServer } from '@tessera/test-harness';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { json, mailTo, newClientSecret } from './system/flows.js';
import { REPO_ROOT } from './system/repo-root.js';
import { eventually, freePort } from './system/running-system.js';

// Issue 12: every image built with podman from this checkout and Debian's packages, the compose
// deployment (three NATS nodes, PostgreSQL, provisioning, every service, Prometheus) started,
// and a bind and a lookup made through the containerised gateway, the validation mail caught by
// an SMTP server of this test. Slow (the first build makes the Debian base images) and needs
// root, podman, podman-compose and debootstrap: it runs only with TESSERA_TEST_CONTAINERS=1.
const execFile = promisify(execFileCallback);
const enabled = process.env.TESSERA_TEST_CONTAINERS === '1';
const SKIP_REASON =
  'set TESSERA_TEST_CONTAINERS=1 to build the images with podman and run the compose deployment (root, podman, podman-compose, debootstrap)';

const IMAGES_DIR = join(REPO_ROOT, 'deploy', 'images');
const COMPOSE_RUN = join(REPO_ROOT, 'deploy', 'compose', 'run.sh');
const SERVICES = ['signing', 'session', 'directory', 'invite', 'projector', 'notifier', 'gateway'];
const V1 = '/_matrix/identity/api/v1';
const project = `tessera-test-${process.pid}`;
const MINUTE = 60_000;

describe('the container deployment', { skip: enabled ? false : SKIP_REASON }, () => {
  let smtp: TestSmtpServer;
  let smtpRelay: TcpRelay;
  let composeEnv: NodeJS.ProcessEnv;
  let call: ObservedFetch;
  let baseUrl: string;
  let prometheusUrl: string;
  let buildOutput = '';

  const podman = (...args: string[]) =>
    execFile('podman', args, { env: composeEnv, maxBuffer: 64 * 1024 * 1024 }).then((r) => r.stdout.trim());
  const containerNames = async () =>
    (await podman('ps', '-a', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Names}}'))
      .split('\n')
      .filter(Boolean);
  const serviceOf = (name: string) => name.replace(`${project}_`, '').replace(/_\d+$/, '');
  const logsOf = (name: string) =>
    execFile('podman', ['logs', name], { env: composeEnv, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => r.stdout + r.stderr,
    );
  const healthy = (service: string) =>
    execFile('podman', ['healthcheck', 'run', `${project}_${service}_1`], { env: composeEnv }).then(
      () => true,
      () => false,
    );
  const compose = (...args: string[]) =>
    execFile(COMPOSE_RUN, args, { env: composeEnv, maxBuffer: 64 * 1024 * 1024, timeout: 15 * MINUTE });

  before(
    async () => {
      const built = await execFile(join(IMAGES_DIR, 'build.sh'), [], {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60 * MINUTE,
      });
      buildOutput = built.stdout;
      console.log(buildOutput.trim());

      // The notifier's mail goes to this test's SMTP server through a relay on every interface:
      // a container reaches the host at host.containers.internal (the bridge's own address).
      smtp = await startSmtpServer();
      smtpRelay = await startTcpRelay(smtp.port, { listenHost: '0.0.0.0' });
      const gatewayPort = await freePort();
      baseUrl = `http://127.0.0.1:${gatewayPort}`;
      prometheusUrl = `http://127.0.0.1:${await freePort()}`;
      composeEnv = {
        ...process.env,
        CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(IMAGES_DIR, 'containers.conf'),
        TESSERA_COMPOSE_PROJECT: project,
        TESSERA_POSTGRES_PASSWORD: randomBytes(18).toString('base64url'),
        TESSERA_GATEWAY_PUBLISH: `127.0.0.1:${gatewayPort}`,
        TESSERA_PROMETHEUS_PUBLISH: prometheusUrl.slice('http://'.length),
        TESSERA_PUBLIC_BASE_URL: baseUrl,
        TESSERA_SMTP_URL: `smtp://host.containers.internal:${smtpRelay.port}`,
      };
      call = observedFetch(loadSpec(), { baseUrl });
      await compose('up');
      await eventually(
        async () => (await fetch(`${baseUrl}/_matrix/identity/v2`)).status === 200,
        10 * MINUTE,
        'the containerised gateway to answer',
      );
      // Ready: every service's own health check (its /readyz: NATS, its backends) passes.
      for (const service of [...SERVICES, 'postgres'])
        await eventually(() => healthy(service), 5 * MINUTE, `${service}'s health check`);
    },
    { timeout: 80 * MINUTE },
  );

  after(
    async () => {
      if (composeEnv) {
        const logFile = join(tmpdir(), `${project}.log`);
        const names = await containerNames().catch(() => []);
        const logs = await Promise.all(names.map(async (name) => `== ${name}\n${await logsOf(name).catch(String)}`));
        writeFileSync(logFile, logs.join('\n'));
        console.log(`every container's log: ${logFile}`);
        await compose('down', '-v').catch((err) => console.error(`compose down failed: ${err}`));
      }
      await smtpRelay?.close();
      await smtp?.close();
    },
    { timeout: 15 * MINUTE },
  );

  it('prints the size of every image', () => {
    for (const name of [...SERVICES, 'provision', 'nats', 'postgres', 'prometheus'])
      assert.match(buildOutput, new RegExp(`localhost/tessera/${name}:\\S+\\s+\\d+ MB`), `the size of ${name}`);
  });

  it('binds an address validated by mail and finds it by lookup, through the containerised gateway', async () => {
    const address = `container.${Date.now()}@example.org`;
    const mxid = '@alice:example.org';
    const clientSecret = newClientSecret();
    const sentAfter = Date.now();
    const requested = await call<{ sid: string }>(
      `${V1}/validate/email/requestToken`,
      json({ client_secret: clientSecret, email: address, send_attempt: 1 }),
    );
    assert.equal(requested.status, 200, requested.text);
    const { link } = await mailTo(smtp, address, sentAfter);
    assert.ok(link.startsWith(`${baseUrl}/`), `the link names the public base URL: ${link}`);
    assert.equal((await fetch(link)).status, 200, 'the link validates the address');

    const bound = await call<{ address: string; mxid: string }>(
      `${V1}/3pid/bind`,
      json({ sid: requested.body.sid, client_secret: clientSecret, mxid }),
    );
    assert.equal(bound.status, 200, bound.text);
    assert.equal(bound.body.mxid, mxid);

    const found = await call<{ address?: string; mxid?: string }>(
      `${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`,
    );
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.mxid, mxid);
  });

  it('runs every container as uid 65534 on a read-only root filesystem', async () => {
    const names = await containerNames();
    const expected = ['provision', 'nats-1', 'nats-2', 'nats-3', 'postgres', ...SERVICES, 'prometheus'];
    assert.deepEqual(
      names.map(serviceOf).sort(),
      [...expected].sort(),
      'one container per compose service (Grafana left out)',
    );
    for (const name of names) {
      const [user, readOnly, status, exitCode, pid] = (
        await podman(
          'inspect',
          '--format',
          '{{.Config.User}}|{{.HostConfig.ReadonlyRootfs}}|{{.State.Status}}|{{.State.ExitCode}}|{{.State.Pid}}',
          name,
        )
      ).split('|');
      assert.equal(user, '65534:65534', `${name} is configured to run as nobody`);
      assert.equal(readOnly, 'true', `${name} has a read-only root filesystem`);
      if (name.includes('_provision')) {
        assert.equal(`${status} ${exitCode}`, 'exited 0', `${name}, the one-shot step, finished`);
        continue;
      }
      assert.equal(status, 'running', `${name} is running`);
      // The kernel's word for the container's first process: real, effective, saved and fs uid.
      const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/);
      assert.deepEqual(uids, ['65534', '65534', '65534', '65534'], `${name}'s process runs as 65534`);
    }
  });

  it('provisioned three replicas of every stream and bucket, and gave each service its own secrets only', async () => {
    const provisioned = await logsOf(`${project}_provision_1`);
    assert.match(provisioned, /provisioned \S+ \(replicas 3\)/);
    for (const name of ['TESSERA_SHORT', 'TESSERA_EVENTS', 'tessera_data_keys', 'tessera_rate_limits'])
      assert.match(provisioned, new RegExp(`\\b${name}\\s+(created|unchanged|updated)`), name);
    for (const service of SERVICES) {
      const mounts = JSON.parse(await podman('inspect', '--format', '{{json .Mounts}}', `${project}_${service}_1`)) as {
        Name?: string;
        Destination: string;
        RW: boolean;
      }[];
      const secrets = mounts.filter(
        (mount) => mount.Name?.includes('_secrets-') || mount.Name?.endsWith('_provision-state'),
      );
      assert.deepEqual(
        secrets.map((mount) => [mount.Name, mount.Destination, mount.RW]),
        [[`${project}_secrets-${service}`, '/run/tessera', false]],
        `${service} mounts its own secrets, read-only, and no other's`,
      );
    }
  });

  it("scrapes every service's metrics and loads the alert rules in Prometheus", async () => {
    type Targets = { data: { activeTargets: { labels: { job: string }; health: string }[] } };
    const upJobs = async () => {
      const targets = (await (await fetch(`${prometheusUrl}/api/v1/targets`)).json()) as Targets;
      return targets.data.activeTargets.filter((target) => target.health === 'up').map((target) => target.labels.job);
    };
    // A scrape every 15 s: wait for each target's first.
    await eventually(async () => (await upJobs()).length === SERVICES.length, 2 * MINUTE, 'every target up');
    assert.deepEqual((await upJobs()).sort(), SERVICES.map((service) => `tessera-${service}`).sort());
    const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { type: string }[] }[] };
    };
    const alerting = rules.data.groups.flatMap((group) => group.rules).filter((rule) => rule.type === 'alerting');
    assert.ok(alerting.length > 0, 'the alert rules of deploy/observability are loaded');
  });

  it("answers every service's image health check", async () => {
    for (const service of [...SERVICES, 'postgres']) assert.ok(await healthy(service), `${service} is healthy`);
  });
});

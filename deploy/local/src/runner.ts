import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ChannelCredentials } from '@grpc/grpc-js';
import { type Config, ConfigError, readSources } from '@tessera/config';
import { ensureDevPki } from '@tessera/dev-pki';
import { redactUrl } from '@tessera/event-store';
import {
  freePort,
  type NatsServerHandle,
  type PostgresHandle,
  startNatsServer,
  startPostgres,
} from '@tessera/local-infra';
import type { BackoffPolicy } from './backoff.js';
import { formatSeconds, grpcHealthProbe, type HealthProbe, httpOkProbe, waitUntilHealthy } from './health.js';
import { KeptServer } from './infra.js';
import { type LineSink, prefixedWriter } from './log-prefix.js';
import { type MailCatcher, startMailCatcher } from './mail-catcher.js';
import {
  jetStreamAnswers,
  outsideNatsIdentities,
  ownNatsIdentities,
  provisionNats,
  type RunnerIdentities,
  requireServiceCredentials,
} from './nats-identities.js';
import { builtServices, type ChildPlan, planRun, type RunPlan, serviceMainPath } from './plan.js';
import { assignPorts, canListen, PortAllocator } from './ports.js';
import { Reaper } from './reaper-client.js';
import { replicaCounts } from './replicas.js';
import { ensureServerSecret } from './server-secret.js';
import { RUNNER_CERT_NAME, SERVICES } from './services.js';
import { type RunnerState, type RunnerStatus, readStateFile, StateFile, stateFilePath } from './state-file.js';
import { ChildSupervisor, describeExit, type SupervisorEvent } from './supervisor.js';

export interface RunnerOptions {
  config: Config;
  /** The runner's environment (process.env): the operator's TESSERA_* and what the children inherit. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where every prefixed line goes (process.stdout). */
  out: NodeJS.WritableStream;
  /** The checkout: services/<name>/dist/main.js are found under it. */
  repoRoot: string;
  /** How long each service may take to become healthy. Default 60 s. */
  healthTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** SIGTERM to SIGKILL, per child. Default 10 s. */
  stopGraceMs?: number;
  /** Start the reaper (cleans up if the runner is killed). Default true. */
  reaper?: boolean;
}

/** Thrown by start() when the run ended before it was ready; the runner has stopped everything by then. */
export class RunnerStopped extends Error {}

/** nats: the runner's own nodes (one, or a cluster), none when TESSERA_NATS_URL names an outside server. */
type Infra = { nats: KeptServer<NatsServerHandle>[]; postgres: KeptServer<PostgresHandle> | null };

/**
 * The local runner: NATS, Postgres, a throwaway PKI and every built service, supervised, with
 * their output prefixed on one stream and <data>/run/state.json kept current.
 */
export class LocalRunner {
  readonly dataDir: string;
  readonly #o: RunnerOptions & { healthTimeoutMs: number; stopGraceMs: number };
  readonly #say: LineSink;
  readonly #abort = new AbortController();
  readonly #children: ChildSupervisor[] = [];
  readonly #infra: Infra = { nats: [], postgres: null };
  readonly #stateFile: StateFile;
  #plan: RunPlan | null = null;
  #httpUrl = '';
  #status: RunnerStatus = 'starting';
  #reaper: Reaper | null = null;
  #credentials: ChannelCredentials | null = null;
  /** The ports planned for services, each held until its service starts. */
  #ports: PortAllocator | null = null;
  /** The runner's own SMTP listener; null when the operator's TESSERA_SMTP_URL is used. */
  #mail: MailCatcher | null = null;
  /** False until we know no other live runner uses the data dir: until then its state file is not ours. */
  #ownsState = false;
  readonly #reaped = new Map<string, number>();
  #starting: Promise<void> | null = null;
  #stopping: Promise<number> | null = null;
  #resolveFinished: (code: number) => void = () => {};
  /** The exit code, once everything has stopped. */
  readonly finished: Promise<number>;

  constructor(options: RunnerOptions) {
    this.#o = { healthTimeoutMs: 60_000, stopGraceMs: 10_000, ...options };
    this.#say = prefixedWriter(options.out, 'runner');
    this.dataDir = resolve(options.cwd, options.config.TESSERA_DATA_DIR);
    this.#stateFile = new StateFile(stateFilePath(this.dataDir));
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
  }

  get status(): RunnerStatus {
    return this.#status;
  }

  get stateFilePath(): string {
    return this.#stateFile.path;
  }

  /**
   * Starts everything and resolves once every service is healthy. On failure it reports the
   * problem, stops what it started and rejects (finished then gives the exit code).
   */
  async start(): Promise<void> {
    if (this.#starting) throw new Error('the runner was already started');
    this.#starting = this.#start();
    try {
      await this.#starting;
    } catch (err) {
      if (this.#stopping) throw new RunnerStopped('stopped before it was ready', { cause: err });
      this.#say((err as Error).message);
      // A configuration the runner cannot use is the operator's to fix, like a child's exit 78.
      void this.stop('could not start', err instanceof ConfigError ? 78 : 1);
      throw err;
    }
  }

  /** Stops every service in reverse start order, then Postgres and NATS. Resolves with the exit code. */
  stop(reason: string, exitCode = 0): Promise<number> {
    this.#stopping ??= this.#stop(reason, exitCode);
    return this.#stopping;
  }

  /** After a second Ctrl-C: SIGKILL to everything, no waiting. */
  kill(): void {
    for (const child of this.#children) child.kill('SIGKILL');
    for (const kept of [this.#infra.postgres, ...this.#infra.nats]) kept?.handle?.process.kill('SIGKILL');
    this.#reaper?.done();
  }

  async #start(): Promise<void> {
    const { config, env, cwd, repoRoot } = this.#o;
    const signal = this.#abort.signal;
    await mkdir(this.dataDir, { recursive: true });
    this.#refuseIfInUse();
    this.#ownsState = true;
    this.#say(`data in ${this.dataDir}`);
    if (this.#o.reaper !== false)
      this.#reaper = Reaper.start({ graceMs: this.#o.stopGraceMs, stateFile: this.#stateFile.path });

    const settings = readSources(env);
    const host = config.TESSERA_HTTP_HOST;
    const httpPort = config.TESSERA_HTTP_PORT || (await freePort(host));
    // Caught here, a port in use is one clear message instead of a gateway crashing until the health timeout.
    if (!(await canListen(host, httpPort))) {
      throw new ConfigError(`TESSERA_HTTP_PORT: ${host}:${httpPort} is in use (another runner?); choose another port`);
    }
    const services = builtServices(repoRoot);
    // Its own NATS admits only the identities it makes; an outside one, what the operator gives.
    const nats = config.TESSERA_NATS_URL
      ? { identities: outsideNatsIdentities(settings, cwd), authorization: null }
      : await ownNatsIdentities(settings, this.dataDir, cwd);
    requireServiceCredentials(
      nats.identities,
      services.map((service) => service.name),
    );
    // Every gRPC service gets a port even when it is not built, so that no client falls back to a
    // default port that another instance on this machine may be using.
    // NATS, Postgres and the mail catcher pick their ports from the same allocator, after the plan.
    const portAllocator = new PortAllocator({ reserved: [httpPort], hold: true });
    this.#ports = portAllocator;
    const ports = await assignPorts(SERVICES, portAllocator, replicaCounts(config.TESSERA_LOCAL_REPLICAS));
    const pki = await ensureDevPki(join(this.dataDir, 'pki'), {
      services: [...SERVICES.map((service) => service.name), RUNNER_CERT_NAME],
    });
    const tls = (name: string) => {
      const files = pki.services[name];
      if (!files) throw new Error(`no certificate was made for ${name}`);
      return { caFile: pki.caCertFile, certFile: files.certFile, keyFile: files.keyFile };
    };
    const planFor = (natsUrl: string, databaseUrl: string) =>
      planRun({
        env,
        settings,
        config,
        cwd,
        dataDir: this.dataDir,
        repoRoot,
        services,
        ports,
        http: { host, port: httpPort },
        natsUrl,
        databaseUrl,
        natsIdentities: nats.identities,
        tls,
        ...(this.#mail ? { mailCatcherUrl: this.#mail.url } : {}),
      });
    // Plan once before NATS and Postgres start, so that a plan the runner refuses fails fast.
    const draft = planFor(
      config.TESSERA_NATS_URL ?? 'nats://pending',
      config.TESSERA_DATABASE_URL ?? 'postgres://pending',
    );
    for (const warning of draft.warnings) this.#say(warning);
    this.#httpUrl = draft.httpUrl;
    if (!settings.TESSERA_SIGNING_KEY_FILE)
      await mkdir(dirname(draft.signingKeyFile), { recursive: true, mode: 0o700 });
    // The operator's secret is theirs to make; the runner never reads or checks it.
    if (!settings.TESSERA_SECRET_KEY_FILE && ensureServerSecret(draft.secretKeyFile))
      this.#say(`made a new server secret in ${draft.secretKeyFile}`);
    this.#saveState();

    if (settings.TESSERA_SMTP_URL) {
      this.#say('sending mail through the SMTP server of TESSERA_SMTP_URL'); // not the URL: it may hold a password
    } else {
      this.#mail = await startMailCatcher({
        port: await portAllocator.nextToBind(),
        dir: join(this.dataDir, 'mail'),
        log: prefixedWriter(this.#o.out, 'mail'),
      });
      this.#say(`mail catcher on ${this.#mail.url}: every mail is saved in ${this.#mail.dir}`);
      this.#saveState();
    }
    signal.throwIfAborted();

    const [natsUrl, databaseUrl] = await this.#startInfra(config, nats, () => portAllocator.nextToBind());
    signal.throwIfAborted();
    await this.#provision(natsUrl, nats.identities, nats.authorization !== null, settings);
    signal.throwIfAborted();
    const plan = planFor(natsUrl, databaseUrl);
    this.#plan = plan;
    this.#saveState();

    const runnerTls = tls(RUNNER_CERT_NAME);
    const credentials = ChannelCredentials.createSsl(
      await readFile(runnerTls.caFile),
      await readFile(runnerTls.keyFile),
      await readFile(runnerTls.certFile),
    );
    this.#credentials = credentials;
    if (plan.children.length === 0) this.#say('no service is built (run the build first)');
    // One service after another, in order; the replicas of one service at once (none needs another).
    for (const service of new Set(plan.children.map((child) => child.service))) {
      signal.throwIfAborted();
      const replicas = plan.children.filter((child) => child.service === service);
      await portAllocator.release(replicas.flatMap((child) => Object.values(child.ports)));
      await Promise.all(replicas.map((child) => this.#startChild(child, credentials)));
    }
    signal.throwIfAborted();

    const names = plan.children.map((child) => child.name);
    const infra = [`NATS ${redactUrl(natsUrl)}`, `Postgres ${redactUrl(databaseUrl)}`].join(', ');
    this.#say(`${infra}; services: ${names.length > 0 ? names.join(', ') : 'none'}; state in ${this.#stateFile.path}`);
    if (names.includes('gateway')) {
      this.#status = 'ready';
      this.#saveState();
      const moreGateways = plan.children.flatMap((child) =>
        child.service === 'gateway' && child.httpUrl !== plan.httpUrl ? [child.httpUrl] : [],
      );
      if (moreGateways.length > 0) this.#say(`more gateways on ${moreGateways.join(', ')}`);
      this.#say(`ready on ${plan.httpUrl}`);
    } else {
      this.#status = 'running-without-gateway';
      this.#saveState();
      this.#say(
        `no gateway is built (${serviceMainPath(repoRoot, 'gateway')} is missing), so nothing serves HTTP; ` +
          'infrastructure and the other services keep running until Ctrl-C',
      );
    }
  }

  /**
   * Streams and buckets, made or brought up to date as admin before any service starts (services
   * only check they exist). An outside NATS for which the runner holds no admin identity is the
   * operator's to provision.
   */
  async #provision(
    natsUrl: string,
    identities: RunnerIdentities,
    ownServer: boolean,
    settings: Readonly<Record<string, string>>,
  ): Promise<void> {
    if (!ownServer && identities.fileOf('admin') === undefined) {
      this.#say(
        'not provisioning the NATS of TESSERA_NATS_URL: no admin identity in TESSERA_NATS_IDENTITIES_DIR ' +
          '(run `tessera provision` against it)',
      );
      return;
    }
    const { config } = this.#o;
    // A cluster of its own keeps every stream on each node, unless the operator says otherwise.
    const replicas =
      ownServer && !settings.TESSERA_NATS_REPLICAS ? config.TESSERA_LOCAL_NATS_NODES : config.TESSERA_NATS_REPLICAS;
    const report = await provisionNats(natsUrl, identities, { ...config, TESSERA_NATS_REPLICAS: replicas });
    this.#say(`provisioned NATS: ${report}`);
  }

  async #startInfra(
    config: Config,
    own: { identities: RunnerIdentities; authorization: string | null },
    pickPort: () => Promise<number>,
  ): Promise<[string, string]> {
    const onChange = () => this.#saveState();
    const backoff = this.#o.backoff;
    const nats = config.TESSERA_NATS_URL ? [] : await this.#natsNodes(config.TESSERA_LOCAL_NATS_NODES, own, pickPort);
    const postgres = config.TESSERA_DATABASE_URL
      ? null
      : new KeptServer(
          'postgres',
          (port) =>
            startPostgres({
              dataDir: join(this.dataDir, 'postgres'),
              ...(port === undefined ? {} : { port }),
              pickPort,
              fsync: true, // the runner is the real thing: a crash of the machine must not corrupt the cluster
              database: 'tessera',
              log: prefixedWriter(this.#o.out, 'postgres'),
            }),
          { log: this.#say, onChange, ...(backoff ? { backoff } : {}) },
        );
    this.#infra.nats = nats;
    this.#infra.postgres = postgres;
    if (nats.length === 0) this.#say(`using NATS at ${redactUrl(config.TESSERA_NATS_URL ?? '')} (TESSERA_NATS_URL)`);
    if (!postgres) this.#say('using the database of TESSERA_DATABASE_URL');
    // A cluster's nodes start together: JetStream answers on none of them before a majority is up.
    const [natsResult, postgresResult] = await Promise.allSettled([
      Promise.all(nats.map((node) => node.start())),
      postgres?.start(),
    ]);
    if (natsResult.status === 'rejected') throw natsResult.reason;
    if (postgresResult.status === 'rejected') throw postgresResult.reason;
    const natsUrls = natsResult.value.map((handle) => handle.url);
    return [
      natsUrls.length > 0 ? natsUrls.join(',') : (config.TESSERA_NATS_URL as string),
      postgresResult.value?.url ?? (config.TESSERA_DATABASE_URL as string),
    ];
  }

  /**
   * The runner's own NATS, kept up: one node in <data>/nats, or a JetStream cluster of `count`
   * nodes in <data>/nats/node-<n>, each restarted on its own ports (its routes name them) after a
   * crash, when it catches up from the others.
   */
  async #natsNodes(
    count: number,
    own: { identities: RunnerIdentities; authorization: string | null },
    pickPort: () => Promise<number>,
  ): Promise<KeptServer<NatsServerHandle>[]> {
    const common = {
      // Nothing connects without one of the runner's identities, and there is no monitoring
      // endpoint, which would answer anyone.
      ...(own.authorization === null ? {} : { extraConfig: own.authorization }),
      monitorPort: null,
      probeReady: (url: string) => jetStreamAnswers(url, own.identities),
      pickPort,
    };
    const keep = (name: string, launch: (port: number | undefined) => Promise<NatsServerHandle>) =>
      new KeptServer(name, launch, {
        log: this.#say,
        onChange: () => this.#saveState(),
        ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      });
    if (count === 1) {
      return [
        keep('nats', (port) =>
          startNatsServer({
            ...common,
            dataDir: join(this.dataDir, 'nats'),
            ...(port === undefined ? {} : { port }),
            log: prefixedWriter(this.#o.out, 'nats'),
          }),
        ),
      ];
    }
    const nodes = [];
    for (let n = 1; n <= count; n++) nodes.push({ n, port: await pickPort(), routePort: await pickPort() });
    // Made anew on each start of the runner, written only into the nodes' 0600 config files.
    const cluster = { name: 'tessera', user: 'route', password: randomBytes(24).toString('base64url') };
    const routes = nodes.map((node) => `127.0.0.1:${node.routePort}`);
    return nodes.map(({ n, port, routePort }) =>
      keep(`nats-${n}`, () =>
        startNatsServer({
          ...common,
          dataDir: join(this.dataDir, 'nats', `node-${n}`),
          port,
          serverName: `tessera-${n}`,
          cluster: { ...cluster, port: routePort, routes },
          // A node alone waits for the others before JetStream answers.
          startTimeoutMs: 60_000,
          log: prefixedWriter(this.#o.out, `nats-${n}`),
        }),
      ),
    );
  }

  async #startChild(plan: ChildPlan, credentials: ChannelCredentials): Promise<void> {
    const supervisor = new ChildSupervisor(plan, {
      output: prefixedWriter(this.#o.out, plan.name),
      onEvent: (event) => this.#onChildEvent(event),
      stopGraceMs: this.#o.stopGraceMs,
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
    });
    this.#children.push(supervisor);
    supervisor.onFailure((reason) => {
      void this.stop(`${reason}: not restarting it`, 1);
    });
    supervisor.start();

    const probe = healthProbe(plan, credentials);
    try {
      await waitUntilHealthy(plan.name, probe, { timeoutMs: this.#o.healthTimeoutMs, signal: this.#abort.signal });
    } finally {
      probe.close();
    }
    this.#say(`${plan.name} is healthy (${probe.description})`);
  }

  /** After a restart, once the runner was up: says when the service is healthy again (or that it is not). */
  async #watchRecovery(name: string, restart: number): Promise<void> {
    const plan = this.#plan?.children.find((child) => child.name === name);
    if (!plan || !this.#credentials) return;
    const probe = healthProbe(plan, this.#credentials);
    try {
      await waitUntilHealthy(name, probe, { timeoutMs: this.#o.healthTimeoutMs, signal: this.#abort.signal });
      this.#say(`${name} is healthy again (restart ${restart})`);
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#say(`${(err as Error).message} after restart ${restart}`);
    } finally {
      probe.close();
    }
  }

  #onChildEvent(event: SupervisorEvent): void {
    switch (event.type) {
      case 'spawned':
        this.#say(`${event.name} started (pid ${event.pid})`);
        if (event.restart > 0 && (this.#status === 'ready' || this.#status === 'running-without-gateway')) {
          void this.#watchRecovery(event.name, event.restart);
        }
        break;
      case 'spawn-failed':
        this.#say(`${event.name} could not be started: ${event.error.message}`);
        break;
      case 'exited':
        if (event.expected) this.#say(`${event.name} (pid ${event.pid}) stopped: ${describeExit(event.exit)}`);
        break;
      case 'restart-scheduled':
        this.#say(
          `${event.name} (pid ${event.pid}) ${describeExit(event.exit)} after ${formatSeconds(event.uptimeMs)}; ` +
            `restarting in ${event.delayMs} ms (restart ${event.restart})`,
        );
        break;
      case 'failed':
        break; // reported by stop()
      case 'kill-escalated':
        this.#say(`${event.name} (pid ${event.pid}) still runs ${formatSeconds(event.graceMs)} after SIGTERM: SIGKILL`);
        break;
    }
    this.#saveState();
  }

  async #stop(reason: string, exitCode: number): Promise<number> {
    this.#status = 'stopping';
    this.#say(`${reason}: stopping`);
    this.#abort.abort(new RunnerStopped(reason));
    for (const node of this.#infra.nats) node.holdRestarts();
    this.#infra.postgres?.holdRestarts();
    await this.#starting?.catch(() => {});
    this.#saveState();
    await this.#ports?.releaseAll();
    for (const child of [...this.#children].reverse()) await child.stop();
    // After the notifier: a mail it is sending while it stops still arrives.
    await this.#mail?.stop().catch((err: Error) => this.#say(`could not stop the mail catcher: ${err.message}`));
    for (const kept of [this.#infra.postgres, ...this.#infra.nats]) {
      if (!kept) continue;
      try {
        await kept.stop();
      } catch (err) {
        this.#say(`could not stop ${kept.name}: ${(err as Error).message}`);
      }
    }
    this.#status = 'stopped';
    this.#saveState();
    this.#reaper?.done();
    this.#say(`stopped (exit code ${exitCode})`);
    this.#resolveFinished(exitCode);
    return exitCode;
  }

  /** Another runner that is alive and uses this data dir would fight over every file in it. */
  #refuseIfInUse(): void {
    const previous = readStateFile(this.#stateFile.path);
    if (!previous || previous.pid === null || previous.pid === process.pid || previous.status === 'stopped') return;
    if (!isRunner(previous.pid)) return;
    throw new ConfigError(
      `TESSERA_DATA_DIR: ${this.dataDir} is in use by the runner with pid ${previous.pid}; ` +
        'stop it or choose another data dir',
    );
  }

  #state(): RunnerState {
    const stopped = this.#status === 'stopped';
    const services: RunnerState['services'] = {};
    for (const child of this.#children) {
      const plan = this.#plan?.children.find((candidate) => candidate.name === child.name);
      services[child.name] = {
        service: plan?.service ?? child.name,
        pid: stopped ? null : child.pid,
        ...(plan?.grpcPort === undefined ? {} : { grpcPort: plan.grpcPort }),
        metricsPort: plan?.metricsPort ?? 0,
        ...(plan?.adminUrl === undefined ? {} : { adminUrl: plan.adminUrl }),
        ...(plan?.httpUrl === undefined ? {} : { httpUrl: plan.httpUrl }),
        restarts: child.restarts,
      };
    }
    const { nats, postgres } = this.#infra;
    return {
      pid: stopped ? null : process.pid,
      status: this.#status,
      dataDir: this.dataDir,
      httpUrl: this.#httpUrl,
      natsUrl: redacted(
        nats.length > 0 ? nats.map((node) => node.handle?.url ?? '').join(',') : this.#o.config.TESSERA_NATS_URL,
      ),
      databaseUrl: redacted(postgres ? postgres.handle?.url : this.#o.config.TESSERA_DATABASE_URL),
      nats:
        nats.length > 0
          ? {
              pid: stopped ? null : (nats[0]?.pid ?? null),
              nodes: nats.map((node) => ({
                name: node.name,
                pid: stopped ? null : node.pid,
                port: node.handle?.port ?? null,
              })),
            }
          : null,
      postgres: postgres
        ? { pid: stopped ? null : postgres.pid, dataDir: postgres.handle?.dataDir ?? join(this.dataDir, 'postgres') }
        : null,
      mail: this.#mail ? { url: this.#mail.url, dir: this.#mail.dir } : null,
      services,
    };
  }

  #saveState(): void {
    if (!this.#ownsState) return;
    try {
      this.#stateFile.write(this.#state());
    } catch (err) {
      this.#say(`could not write ${this.#stateFile.path}: ${(err as Error).message}`);
    }
    this.#syncReaper();
  }

  /** Tells the reaper about every pid that came or went since the last time. */
  #syncReaper(): void {
    const reaper = this.#reaper;
    if (!reaper) return;
    const current = new Map<string, { pid: number; signal: NodeJS.Signals; group: boolean }>();
    for (const child of this.#children) {
      if (child.pid !== null) current.set(child.name, { pid: child.pid, signal: 'SIGTERM', group: true });
    }
    for (const node of this.#infra.nats) {
      if (node.pid) current.set(node.name, { pid: node.pid, signal: 'SIGTERM', group: false });
    }
    const postgresPid = this.#infra.postgres?.pid;
    if (postgresPid) current.set('postgres', { pid: postgresPid, signal: 'SIGINT', group: false });
    for (const [name, pid] of this.#reaped) {
      if (current.get(name)?.pid !== pid) {
        reaper.forget(pid);
        this.#reaped.delete(name);
      }
    }
    for (const [name, entry] of current) {
      if (this.#reaped.get(name) === entry.pid) continue;
      reaper.watch(entry.pid, entry.signal, entry.group);
      this.#reaped.set(name, entry.pid);
    }
  }
}

/** A URL without the credentials it may hold: the state file is for reading what runs where, not secrets. */
const redacted = (url: string | undefined) => (url === undefined ? null : redactUrl(url));

function healthProbe(plan: ChildPlan, credentials: ChannelCredentials): HealthProbe {
  return plan.health === 'grpc'
    ? grpcHealthProbe(plan.healthTarget, credentials, { serverName: plan.service })
    : httpOkProbe(plan.healthTarget);
}

/** True when `pid` is alive and looks like a Node.js process (a runner), not a pid reused since. */
function isRunner(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return true; // no /proc: assume the worst
  try {
    return /node/.test(readFileSync(cmdline, 'utf8'));
  } catch {
    return true;
  }
}

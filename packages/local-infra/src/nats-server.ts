import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { killOnExit, stopChild, withParentDeathSignal } from './child-process.js';
import { freePort } from './free-port.js';
import { findNatsServerBinary } from './nats-binary.js';
import { type LogFn, OutputLines } from './output-lines.js';
import { canConnect, httpGet } from './probes.js';
import { retryOnPortClash, waitUntilReady } from './startup.js';

export interface NatsServerOptions {
  /** Holds the config file and the JetStream store; created if missing, reused if it exists. */
  dataDir: string;
  /** Client port; 0 or unset picks a free one. */
  port?: number;
  /**
   * HTTP monitoring port; 0 or unset picks a free one; null: no monitoring endpoint at all (it
   * answers anyone who can reach it, credentials or not: the local runner opens none).
   */
  monitorPort?: number | null;
  /**
   * Whether the server is ready for clients, asked once the client port accepts connections. Needed
   * without a monitoring endpoint (and with authorization, only a client with credentials can tell);
   * default: the monitoring endpoint's JetStream health check.
   */
  probeReady?: (url: string) => Promise<boolean>;
  /** How a free port is picked (default: one the kernel just gave out); a caller that has promised ports to others avoids them here. */
  pickPort?: () => Promise<number>;
  host?: string;
  serverName?: string;
  /** Receives every line the server prints, and a few of our own. */
  log: LogFn;
  /** Path of the nats-server binary; default findNatsServerBinary(). */
  binary?: string;
  /** Raw nats-server configuration appended at the top level (accounts, authorization, limits). */
  extraConfig?: string;
  /** One node of a JetStream cluster: its route port and the routes to every node (its own included). */
  cluster?: NatsClusterOptions;
  /** Default 15 s. */
  startTimeoutMs?: number;
}

export interface NatsClusterOptions {
  name: string;
  /** Where this node listens for routes from the others. */
  port: number;
  /** host:port of every node's route listener. */
  routes: readonly string[];
  /** Routes authenticate with these, so that nothing else on the machine can join as a node. */
  user: string;
  password: string;
}

export interface NatsServerHandle {
  /** nats://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** null when the server has no monitoring endpoint. */
  readonly monitorPort: number | null;
  /** http://host:monitorPort, for /varz, /jsz, /healthz; null without a monitoring endpoint. */
  readonly monitorUrl: string | null;
  readonly dataDir: string;
  /** Where JetStream keeps its files: <dataDir>/jetstream. */
  readonly storeDir: string;
  readonly configFile: string;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL if the server is still running after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** Sends a signal right away (SIGKILL by default: a crash) without waiting. */
  kill(signal?: NodeJS.Signals): boolean;
}

/** The configuration written to <dataDir>/nats-server.conf. */
export function natsServerConfig(o: {
  host: string;
  port: number;
  monitorPort: number | null;
  serverName: string;
  storeDir: string;
  extraConfig?: string;
  cluster?: NatsClusterOptions;
}): string {
  const cluster = o.cluster;
  return [
    `server_name: ${JSON.stringify(o.serverName)}`,
    `listen: ${JSON.stringify(`${o.host}:${o.port}`)}`,
    ...(o.monitorPort === null ? [] : [`http: ${JSON.stringify(`${o.host}:${o.monitorPort}`)}`]),
    'jetstream {',
    `  store_dir: ${JSON.stringify(o.storeDir)}`,
    // The stream is the source of truth: fsync every write, or an OS crash loses acknowledged
    // messages (DESIGN.md, "The event store").
    '  sync_interval: always',
    '}',
    ...(cluster === undefined
      ? []
      : [
          'cluster {',
          `  name: ${JSON.stringify(cluster.name)}`,
          `  listen: ${JSON.stringify(`${o.host}:${cluster.port}`)}`,
          `  authorization { user: ${JSON.stringify(cluster.user)}, password: ${JSON.stringify(cluster.password)} }`,
          `  routes: [${cluster.routes.map((route) => JSON.stringify(`nats-route://${cluster.user}:${cluster.password}@${route}`)).join(', ')}]`,
          '}',
        ]),
    o.extraConfig ?? '',
    '',
  ].join('\n');
}

/** Starts nats-server with JetStream on `dataDir` and resolves once it serves clients. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServerHandle> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const binary = options.binary ?? (await findNatsServerBinary());
  await mkdir(dataDir, { recursive: true });
  const picksMonitorPort = options.monitorPort !== null && !options.monitorPort;
  return retryOnPortClash(!options.port || picksMonitorPort, options.log, async () => {
    const pick = options.pickPort ?? (() => freePort(host));
    const port = options.port || (await pick());
    const monitorPort = options.monitorPort === null ? null : options.monitorPort || (await pick());
    return launch({ ...options, dataDir, host, binary, port, monitorPort });
  });
}

async function launch(
  o: NatsServerOptions & { dataDir: string; host: string; binary: string; port: number; monitorPort: number | null },
): Promise<NatsServerHandle> {
  const configFile = join(o.dataDir, 'nats-server.conf');
  // nats-server keeps its files in <store_dir>/jetstream. The file may name who may connect: 0600.
  await writeFile(configFile, natsServerConfig({ ...o, serverName: o.serverName ?? 'tessera', storeDir: o.dataDir }), {
    mode: 0o600,
  });
  await chmod(configFile, 0o600); // an existing file keeps its mode on writeFile
  const storeDir = join(o.dataDir, 'jetstream');

  const output = new OutputLines(o.log);
  o.log(`[local-infra] starting ${o.binary} -c ${configFile}`);
  const child = spawn(...withParentDeathSignal(o.binary, ['-c', configFile], 'SIGTERM'), {
    // Its own process group: a terminal's Ctrl-C reaches the runner, which stops the services before
    // the servers they use. The parent-death signal and the exit hook still end it with its parent.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child, 'SIGTERM');
  output.follow(child.stdout);
  output.follow(child.stderr);

  const url = `nats://${o.host}:${o.port}`;
  const monitorUrl = o.monitorPort === null ? null : `http://${o.host}:${o.monitorPort}`;
  const probeReady =
    o.probeReady ??
    (async () =>
      monitorUrl !== null && (await httpGet(`${monitorUrl}/healthz?js-enabled-only=true`, 1_000)).status === 200);
  await waitUntilReady(child, {
    name: `nats-server at ${url}`,
    output,
    // healthz answers before the client listener is up, so connect to the client port first.
    probe: async () => (await canConnect(o.host, o.port)) && (await probeReady(url)),
    timeoutMs: o.startTimeoutMs ?? 15_000,
  });
  o.log(
    `[local-infra] nats-server ready at ${url} (${monitorUrl === null ? 'no monitoring endpoint' : `monitoring ${monitorUrl}`}, store ${storeDir})`,
  );
  return {
    url,
    host: o.host,
    port: o.port,
    monitorPort: o.monitorPort,
    monitorUrl,
    dataDir: o.dataDir,
    storeDir,
    configFile,
    process: child,
    stop: () => stopChild(child, 'SIGTERM', 10_000),
    kill: (signal = 'SIGKILL') => child.kill(signal),
  };
}

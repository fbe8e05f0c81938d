import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
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
  /** HTTP monitoring port; 0 or unset picks a free one. */
  monitorPort?: number;
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
  /** Default 15 s. */
  startTimeoutMs?: number;
}

export interface NatsServerHandle {
  /** nats://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly monitorPort: number;
  /** http://host:monitorPort, for /varz, /jsz, /healthz */
  readonly monitorUrl: string;
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
  monitorPort: number;
  serverName: string;
  storeDir: string;
  extraConfig?: string;
}): string {
  return [
    `server_name: ${JSON.stringify(o.serverName)}`,
    `listen: ${JSON.stringify(`${o.host}:${o.port}`)}`,
    `http: ${JSON.stringify(`${o.host}:${o.monitorPort}`)}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(o.storeDir)}`,
    // The stream is the source of truth: fsync every write, or an OS crash loses acknowledged
    // messages (DESIGN.md, "The event store").
    '  sync_interval: always',
    '}',
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
  return retryOnPortClash(!options.port || !options.monitorPort, options.log, async () => {
    const pick = options.pickPort ?? (() => freePort(host));
    const port = options.port || (await pick());
    const monitorPort = options.monitorPort || (await pick());
    return launch({ ...options, dataDir, host, binary, port, monitorPort });
  });
}

async function launch(
  o: NatsServerOptions & { dataDir: string; host: string; binary: string; port: number; monitorPort: number },
): Promise<NatsServerHandle> {
  const configFile = join(o.dataDir, 'nats-server.conf');
  // nats-server keeps its files in <store_dir>/jetstream.
  await writeFile(configFile, natsServerConfig({ ...o, serverName: o.serverName ?? 'tessera', storeDir: o.dataDir }));
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
  const monitorUrl = `http://${o.host}:${o.monitorPort}`;
  await waitUntilReady(child, {
    name: `nats-server at ${url}`,
    output,
    // healthz answers before the client listener is up, so also connect to the client port.
    probe: async () =>
      (await httpGet(`${monitorUrl}/healthz?js-enabled-only=true`, 1_000)).status === 200 &&
      (await canConnect(o.host, o.port)),
    timeoutMs: o.startTimeoutMs ?? 15_000,
  });
  o.log(`[local-infra] nats-server ready at ${url} (monitoring ${monitorUrl}, store ${storeDir})`);
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

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort as freePortOn } from '@tessera/local-infra';
import { REPO_ROOT } from './repo-root.js';

const RUNNER = join(REPO_ROOT, 'deploy/local/dist/main.js');
const READY = /ready on (http:\/\/\S+)/;

export interface RunnerState {
  pid: number;
  httpUrl: string;
  natsUrl?: string;
  databaseUrl?: string;
  /** The runner's own nats-server (pid: the first node; nodes: each of a cluster's); null when it uses an outside one. */
  nats?: { pid: number | null; nodes?: { name: string; pid: number | null; port: number | null }[] } | null;
  /** Every replica: `directory`, then `directory-2`…; a gateway's with its URL. */
  services: Record<
    string,
    {
      service?: string;
      pid?: number;
      grpcPort?: number;
      metricsPort?: number;
      restarts?: number;
      adminUrl?: string;
      httpUrl?: string;
    }
  >;
}

export interface RunningSystem {
  baseUrl: string;
  dataDir: string;
  runner: ChildProcess;
  /** Every line the runner printed so far (its own and its children's, prefixed). */
  output: string[];
  state(): RunnerState;
  /** SIGTERM to the runner; resolves with its exit code once everything has stopped. */
  stop(): Promise<number | null>;
}

/** A port for a server the test starts: out of the range outgoing connections take (local-infra's rule). */
export const freePort = (): Promise<number> => freePortOn('127.0.0.1');

export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  // Traversable by the postgres user, so the runner keeps the cluster inside it (and removing it removes all).
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * The whole system as an operator starts it: the local runner with its own NATS, PostgreSQL and
 * every service, on a fresh (or the given) data directory and a free HTTP port.
 */
export async function startSystem(
  options: { dataDir?: string; httpPort?: number; env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<RunningSystem> {
  const dataDir = options.dataDir ?? tempDataDir();
  const httpPort = options.httpPort ?? (await freePort());
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) env[key] = value;
  if (process.env.TESSERA_NATS_SERVER_BIN) env.TESSERA_NATS_SERVER_BIN = process.env.TESSERA_NATS_SERVER_BIN;
  Object.assign(env, { TESSERA_DATA_DIR: dataDir, TESSERA_HTTP_PORT: String(httpPort), ...options.env });

  const runner = spawn(process.execPath, [RUNNER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((ok) => runner.once('exit', (code) => ok(code)));
  const baseUrl = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(
      () =>
        fail(
          new Error(`runner not ready after ${options.readyTimeoutMs ?? 90_000} ms:\n${output.slice(-40).join('\n')}`),
        ),
      options.readyTimeoutMs ?? 90_000,
    );
    const onLine = (line: string) => {
      output.push(line);
      if (process.env.TESSERA_E2E_VERBOSE) process.stderr.write(`${line}\n`);
      const match = READY.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        ok(match[1].replace(/\/$/, ''));
      }
    };
    for (const stream of [runner.stdout, runner.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`runner exited with ${code} before it was ready:\n${output.slice(-40).join('\n')}`));
    });
  });

  return {
    baseUrl,
    dataDir,
    runner,
    output,
    state: () => JSON.parse(readFileSync(join(dataDir, 'run/state.json'), 'utf8')) as RunnerState,
    stop: async () => {
      if (runner.exitCode === null && runner.signalCode === null) runner.kill('SIGTERM');
      return exited;
    },
  };
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls until `check` resolves true, or fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** Whether the replica `name` (`notifier`, `directory-2`…) answers 200 on its /readyz now. */
export async function replicaReady(system: RunningSystem, name: string): Promise<boolean> {
  const port = system.state().services[name]?.metricsPort;
  if (port === undefined) return false;
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

export type ServiceLogLine = { level?: string; msg?: string; service?: string; [field: string]: unknown };

/** The gateway's line per answered request (TESSERA_ACCESS_LOG): not a report of anything gone wrong. */
export const isAccessLogLine = (line: ServiceLogLine): boolean => line.service === 'gateway' && line.msg === 'request';

/** The services' JSON log lines the runner printed (from line `from` of its output on). */
export function serviceLogLines(system: RunningSystem, from = 0): ServiceLogLine[] {
  return system.output.slice(from).flatMap((line) => {
    const at = line.indexOf('| {');
    if (at === -1) return [];
    try {
      return [JSON.parse(line.slice(at + 2)) as ServiceLogLine];
    } catch {
      return [];
    }
  });
}

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/** The bytes of every file of the system's NATS store, for searching the stream for what must not be in it. */
export function natsStoreBytes(system: RunningSystem): Buffer {
  return Buffer.concat(filesUnder(join(system.dataDir, 'nats')).map((file) => readFileSync(file)));
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-root.js';
import { eventually, freePort, type RunningSystem } from './running-system.js';

export interface ServiceReplica {
  /** Gateway: http://127.0.0.1:PORT; a gRPC service: 127.0.0.1:PORT. */
  url: string;
  stop(): void;
}

export type GatewayReplica = ServiceReplica;

/** The environment the runner gave the first process of `service`. */
function runnerEnvOf(system: RunningSystem, service: string): Record<string, string> {
  const first = system.state().services[service]?.pid;
  assert.ok(first, `the runner started ${service}`);
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${first}/environ`, 'utf8').split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

/**
 * A further replica of `service`, configured exactly as the runner configured the first, on its own
 * ports and without the directory's admin API, with `overrides` on top; resolves once it is ready.
 */
async function startReplica(
  system: RunningSystem,
  service: string,
  overrides: (ports: { main: number }) => Record<string, string>,
  ready: (ports: { main: number; metrics: number }) => Promise<boolean>,
): Promise<{ ports: { main: number; metrics: number }; stop: () => void }> {
  const ports = { main: await freePort(), metrics: await freePort() };
  // One admin API is enough, and its port is taken by the first directory.
  const { TESSERA_DIRECTORY_ADMIN_LISTEN: _adminApi, ...runnerEnv } = runnerEnvOf(system, service);
  const env = {
    ...runnerEnv,
    TESSERA_METRICS_LISTEN: `127.0.0.1:${ports.metrics}`,
    ...overrides(ports),
  };
  const child = spawn(process.execPath, [join(REPO_ROOT, `services/${service}/dist/main.js`)], {
    env,
    stdio: 'ignore',
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  try {
    await eventually(() => ready(ports), 20_000, `the ${service} replica`);
  } catch (err) {
    stop();
    throw err;
  }
  return { ports, stop };
}

/** A further gateway replica; `overrides` may point it at other replicas of the gRPC services. */
export async function startGatewayReplica(
  system: RunningSystem,
  overrides: Record<string, string> = {},
): Promise<GatewayReplica> {
  const { ports, stop } = await startReplica(
    system,
    'gateway',
    ({ main }) => ({ TESSERA_HTTP_PORT: String(main), ...overrides }),
    async ({ main }) => (await fetch(`http://127.0.0.1:${main}/_matrix/identity/v2`)).ok,
  );
  return { url: `http://127.0.0.1:${ports.main}`, stop };
}

/** A further replica of a gRPC service (directory, session, ...); its `url` is its gRPC address. */
export async function startGrpcReplica(system: RunningSystem, service: string): Promise<ServiceReplica> {
  const { ports, stop } = await startReplica(
    system,
    service,
    ({ main }) => ({ TESSERA_GRPC_LISTEN: `127.0.0.1:${main}` }),
    async ({ metrics }) => (await fetch(`http://127.0.0.1:${metrics}/readyz`)).ok,
  );
  return { url: `127.0.0.1:${ports.main}`, stop };
}

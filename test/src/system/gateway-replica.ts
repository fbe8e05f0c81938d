import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-root.js';
import { eventually, freePort, type RunningSystem } from './running-system.js';

const GATEWAY_MAIN = join(REPO_ROOT, 'services/gateway/dist/main.js');

export interface GatewayReplica {
  /** http://127.0.0.1:PORT */
  url: string;
  stop(): void;
}

/** A further gateway replica, configured exactly as the runner configured the first, on its own ports. */
export async function startGatewayReplica(system: RunningSystem): Promise<GatewayReplica> {
  const first = system.state().services.gateway?.pid;
  assert.ok(first, 'the runner started a gateway');
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${first}/environ`, 'utf8').split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const port = await freePort();
  env.TESSERA_HTTP_PORT = String(port);
  env.TESSERA_METRICS_LISTEN = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [GATEWAY_MAIN], { env, stdio: 'ignore' });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => (await fetch(`${url}/_matrix/identity/v2`)).ok, 15_000, 'the gateway replica');
  } catch (err) {
    stop();
    throw err;
  }
  return { url, stop };
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogFn, type NatsServerHandle, startNatsServer } from '@tessera/local-infra';
import { serverLog } from './server-log.js';

export interface TestNatsOptions {
  log?: LogFn;
  serverName?: string;
  /** Raw nats-server configuration appended at the top level (accounts, authorization). */
  extraConfig?: string;
}

export interface TestNats {
  /** nats://127.0.0.1:PORT; the same after restart(). */
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly dataDir: string;
  /** The running server process; replaced by restart(). */
  readonly server: NatsServerHandle;
  /** Stops the server (SIGTERM) and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server (if still running) and starts it again on the same dir and ports. */
  restart(): Promise<void>;
  /** Sends a signal now (SIGKILL by default: a crash); restart() brings the server back. */
  kill(signal?: NodeJS.Signals): boolean;
}

/** A nats-server with JetStream (sync_interval: always, like the runner) in a fresh temp dir. */
export async function startNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-nats-'));
  const { serverName, extraConfig } = options;
  const settings = { dataDir, serverName, extraConfig, log: options.log ?? serverLog('nats') };
  let server: NatsServerHandle;
  try {
    server = await startNatsServer(settings);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { port, monitorPort } = server;
  const monitorUrl = server.monitorUrl;
  if (monitorUrl === null) throw new Error('the test nats-server was started without its monitoring endpoint');
  let removed = false;
  return {
    url: server.url,
    port,
    monitorUrl,
    dataDir,
    get server() {
      return server;
    },
    async stop() {
      await server.stop();
      if (removed) return;
      removed = true;
      await rm(dataDir, { recursive: true, force: true });
    },
    async restart() {
      if (removed) throw new Error('restart() after stop(): the data dir is gone');
      await server.stop();
      server = await startNatsServer({ ...settings, port, monitorPort });
    },
    kill: (signal) => server.kill(signal),
  };
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogFn, type PostgresHandle, startPostgres as startCluster } from '@tessera/local-infra';
import { serverLog } from './server-log.js';

export interface TestPostgresOptions {
  log?: LogFn;
  /** Default 'tessera'. */
  database?: string;
}

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/<database> */
  readonly url: string;
  readonly port: number;
  readonly database: string;
  /** Where the cluster is (a temp dir, or its stand-in under /var/tmp when running as root). */
  readonly dataDir: string;
  /** The local-infra handle, e.g. for binDir (psql) or kill(). */
  readonly server: PostgresHandle;
  /** Stops the server and removes the cluster. Safe to call twice. */
  stop(): Promise<void>;
}

/** A throwaway PostgreSQL cluster (fsync off: fast, and not crash-safe) in a fresh temp dir. */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const requestedDir = await mkdtemp(join(tmpdir(), 'tessera-pg-'));
  const remove = async (dirs: string[]) => {
    for (const dir of new Set(dirs)) await rm(dir, { recursive: true, force: true });
  };
  let server: PostgresHandle;
  try {
    server = await startCluster({
      dataDir: requestedDir,
      fsync: false,
      log: options.log ?? serverLog('postgres'),
      ...(options.database === undefined ? {} : { database: options.database }),
    });
  } catch (err) {
    await remove([requestedDir]);
    throw err;
  }
  let removed = false;
  return {
    url: server.url,
    port: server.port,
    database: server.database,
    dataDir: server.dataDir,
    server,
    async stop() {
      await server.stop();
      if (removed) return;
      removed = true;
      await remove([server.dataDir, requestedDir]);
    },
  };
}

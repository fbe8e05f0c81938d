import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { killOnExit, stopChild, withParentDeathSignal } from './child-process.js';
import { freePort } from './free-port.js';
import { type LogFn, OutputLines } from './output-lines.js';
import { findPostgresBinDir } from './postgres-bin.js';
import { postgresRunAs, prepareDataDir } from './postgres-user.js';
import { cleanPgEnv, psql } from './psql.js';
import { type RunAs, runCommand, succeeds } from './run-command.js';
import { retryOnPortClash, waitUntilReady } from './startup.js';

export interface PostgresOptions {
  /** The cluster's directory; initdb runs on first use. See PostgresHandle.dataDir for where it really is. */
  dataDir: string;
  /** 0 or unset picks a free port. */
  port?: number;
  /** How a free port is picked (default: one the kernel just gave out); a caller that has promised ports to others avoids them here. */
  pickPort?: () => Promise<number>;
  /** Receives every line initdb and the server print, and a few of our own. */
  log: LogFn;
  /**
   * false: initdb --no-sync and the server with fsync=off, synchronous_commit=off. Fast, and a
   * crash of the machine can corrupt the cluster: for throwaway test clusters only. Default true.
   */
  fsync?: boolean;
  /** Created if missing; null creates none (the URL then names `postgres`). Default 'tessera'. */
  database?: string | null;
  /** Directory of initdb/postgres/pg_isready/psql; default findPostgresBinDir(). */
  binDir?: string;
  /** Default 30 s (crash recovery of a big cluster can take a while). */
  startTimeoutMs?: number;
}

export interface PostgresHandle {
  /** postgres://postgres@127.0.0.1:PORT/<database> */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Where the cluster really is: the requested dir, or the fallback under /var/tmp (see the log). */
  readonly dataDir: string;
  readonly binDir: string;
  readonly process: ChildProcess;
  /** Fast shutdown (SIGINT: rolls back open transactions, does not wait for clients), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Sends a signal right away (SIGKILL by default: a crash) without waiting. */
  kill(signal?: NodeJS.Signals): boolean;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';

/** Starts PostgreSQL on `dataDir` (running initdb first if it holds no cluster) on 127.0.0.1 only. */
export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const binDir = options.binDir ?? (await findPostgresBinDir());
  const runAs = await postgresRunAs();
  const dataDir = await prepareDataDir(options.dataDir, runAs, options.log);
  const fsync = options.fsync ?? true;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initCluster({ binDir, dataDir, runAs, fsync, log: options.log });

  const pick = options.pickPort ?? (() => freePort(HOST));
  const handle = await retryOnPortClash(!options.port, options.log, async () =>
    launch({ binDir, dataDir, runAs, fsync, log: options.log, port: options.port || (await pick()) }, options),
  );
  try {
    if (handle.database !== 'postgres') await createDatabase(handle);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

type Cluster = { binDir: string; dataDir: string; runAs: RunAs; fsync: boolean; log: LogFn };

async function initCluster(c: Cluster): Promise<void> {
  c.log(`[local-infra] initdb ${c.dataDir}`);
  await runCommand(
    join(c.binDir, 'initdb'),
    [
      `--pgdata=${c.dataDir}`,
      `--username=${SUPERUSER}`,
      '--encoding=UTF8',
      '--locale=C', // the same collation everywhere, whatever the machine's locale
      // No passwords: the server listens on 127.0.0.1 only (and on no Unix socket).
      '--auth=trust',
      ...(c.fsync ? [] : ['--no-sync']),
    ],
    { runAs: c.runAs, log: c.log, env: cleanPgEnv() },
  );
}

async function launch(c: Cluster & { port: number }, options: PostgresOptions): Promise<PostgresHandle> {
  const args = [
    '-D',
    c.dataDir,
    '-p',
    String(c.port),
    '-c',
    `listen_addresses=${HOST}`,
    // TCP only: no socket file in a directory the postgres user may not be able to write.
    '-c',
    'unix_socket_directories=',
    ...(c.fsync ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
  ];
  const output = new OutputLines(c.log);
  c.log(`[local-infra] starting postgres on ${HOST}:${c.port} (data ${c.dataDir}${c.fsync ? '' : ', fsync off'})`);
  const child = spawn(...withParentDeathSignal(join(c.binDir, 'postgres'), args, 'SIGINT'), {
    // Its own process group: a terminal's Ctrl-C reaches the runner, which stops the services before
    // the servers they use. The parent-death signal and the exit hook still end it with its parent.
    detached: true,
    cwd: '/',
    env: cleanPgEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(c.runAs === null ? {} : { uid: c.runAs.uid, gid: c.runAs.gid }),
  });
  killOnExit(child, 'SIGINT');
  output.follow(child.stdout);
  output.follow(child.stderr);

  const isReady = join(c.binDir, 'pg_isready');
  await waitUntilReady(child, {
    name: `postgres on ${HOST}:${c.port}`,
    output,
    probe: () =>
      succeeds(isReady, ['-q', '-h', HOST, '-p', String(c.port), '-U', SUPERUSER, '-d', 'postgres', '-t', '1'], {
        env: cleanPgEnv(),
      }),
    intervalMs: 100,
    timeoutMs: options.startTimeoutMs ?? 30_000,
  });
  const database = options.database === undefined ? 'tessera' : (options.database ?? 'postgres');
  c.log(`[local-infra] postgres ready on ${HOST}:${c.port}`);
  return {
    url: `postgres://${SUPERUSER}@${HOST}:${c.port}/${encodeURIComponent(database)}`,
    host: HOST,
    port: c.port,
    database,
    dataDir: c.dataDir,
    binDir: c.binDir,
    process: child,
    stop: () => stopChild(child, 'SIGINT', 10_000),
    kill: (signal = 'SIGKILL') => child.kill(signal),
  };
}

async function createDatabase(handle: PostgresHandle): Promise<void> {
  const adminUrl = `postgres://${SUPERUSER}@${HOST}:${handle.port}/postgres`;
  await psql(
    handle.binDir,
    adminUrl,
    "SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\n\\gexec\n",
    { db: handle.database },
  );
}

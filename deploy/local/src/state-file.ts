import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type RunnerStatus = 'starting' | 'ready' | 'running-without-gateway' | 'stopping' | 'stopped';

/** One process: a service's replica (keyed in the state file by its name: `directory`, `directory-2`…). */
export interface ServiceState {
  /** The service it is a replica of. */
  service: string;
  /** null while it is down (waiting for a restart, or stopped). */
  pid: number | null;
  grpcPort?: number;
  metricsPort: number;
  /**
   * Session, directory and invite only: where its admin API answers (`tessera directory …`,
   * `tessera invite …` and `tessera import sydent` find it here).
   */
  adminUrl?: string;
  /** A gateway: where it serves the API. */
  httpUrl?: string;
  restarts: number;
}

/** <data>/run/state.json: what runs where, for tests and operators. */
export interface RunnerState {
  /** The runner's pid; null once it has stopped. */
  pid: number | null;
  status: RunnerStatus;
  dataDir: string;
  /** Where the (first) gateway is reached; every gateway's URL is in services. */
  httpUrl: string;
  natsUrl: string | null;
  databaseUrl: string | null;
  /** The runner's own servers: null when TESSERA_NATS_URL / TESSERA_DATABASE_URL name outside ones. */
  /** pid: the first node's; nodes: every node (one, or a cluster's three), with its client port. */
  nats: { pid: number | null; nodes: { name: string; pid: number | null; port: number | null }[] } | null;
  postgres: { pid: number | null; dataDir: string } | null;
  /**
   * The runner's mail catcher: its TESSERA_SMTP_URL and the directory of the .eml files it
   * saves. null when the operator's TESSERA_SMTP_URL is used.
   */
  mail: { url: string; dir: string } | null;
  /** The started processes, every replica of every service, in start order. */
  services: Record<string, ServiceState>;
}

export function stateFilePath(dataDir: string): string {
  return join(dataDir, 'run', 'state.json');
}

/**
 * Writes the whole state each time, atomically (a reader never sees half a file), readable by the
 * runner's user only: it says where every server and file is.
 */
export class StateFile {
  constructor(readonly path: string) {}

  write(state: RunnerState): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600); // a stale temporary file keeps its mode on writeFile
    renameSync(temporary, this.path);
  }
}

/** The state file's content, or null if there is none (or it cannot be read as JSON). */
export function readStateFile(path: string): RunnerState | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunnerState;
  } catch {
    return null;
  }
}

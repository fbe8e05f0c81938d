import type { Logger } from '@tessera/event-store';
import { type Kysely, sql } from 'kysely';

export interface DatabaseReadiness {
  /** `postgres` in /readyz. */
  readonly name: 'postgres';
  /** From the last probe: never a query of its own. */
  isReady(): boolean;
  close(): void;
}

export interface DatabaseReadinessOptions {
  /** Time between two probes. Default 1 s. */
  intervalMs?: number;
  /** A probe slower than this (a pool with no free connection, a server that hangs) counts as down. Default 1 s. */
  timeoutMs?: number;
}

/**
 * Whether PostgreSQL answers `select 1` within `timeoutMs`, probed in the background every
 * `intervalMs` and kept, so /readyz costs the database nothing. Ready from the start (the pool
 * answered when it was opened) until a probe fails; a change either way is logged once.
 */
export function watchDatabase(
  // biome-ignore lint/suspicious/noExplicitAny: the probe names no table, so any database will do
  db: Kysely<any>,
  log: Logger,
  { intervalMs = 1_000, timeoutMs = 1_000 }: DatabaseReadinessOptions = {},
): DatabaseReadiness {
  let ready = true;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const probe = async () => {
    let problem: string | null = null;
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), timeoutMs);
    try {
      await sql`select 1`.execute(db, { signal: abort.signal });
    } catch (err) {
      problem = abort.signal.aborted ? `no answer within ${timeoutMs} ms` : ((err as Error)?.message ?? String(err));
    } finally {
      clearTimeout(deadline);
    }
    if (closed) return;
    if (problem === null && !ready) log.info({ backend: 'postgres' }, 'PostgreSQL answers again');
    if (problem !== null && ready) log.warn({ backend: 'postgres', problem }, 'PostgreSQL does not answer');
    ready = problem === null;
    timer = setTimeout(() => void probe(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void probe(), intervalMs);
  timer.unref();

  return {
    name: 'postgres',
    isReady: () => ready && !closed,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

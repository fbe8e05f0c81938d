import type { Logger } from '@tessera/event-store';
import type { Kysely } from 'kysely';
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration';
import { MIGRATIONS } from './migrations/index.js';

/** A migration failed: the start stops here, naming it. Nothing of the run is kept (transactional DDL). */
export class MigrationFailed extends Error {
  override readonly name = 'MigrationFailed';
}

export type MigrationOutcome = { applied: string[] };

/**
 * Brings the schema to the newest migration, each not yet applied in name order, all in one
 * transaction under Kysely's migration lock (two processes starting at once apply each once).
 * Logs every migration applied; throws MigrationFailed naming the one that failed.
 */
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: migrations see the schema of their day, not the Database type
  db: Kysely<any>,
  log: Logger,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  return outcomeOf(await migrator.migrateToLatest(), log);
}

function outcomeOf({ error, results }: MigrationResultSet, log: Logger): MigrationOutcome {
  const failed = results?.find((result) => result.status === 'Error');
  const reason = (error as Error | undefined)?.message ?? String(error);
  if (failed) {
    log.error({ migration: failed.migrationName, err: reason }, 'migration failed; none of this run is kept');
    throw new MigrationFailed(`migration ${failed.migrationName} failed: ${reason}`, { cause: error });
  }
  if (error !== undefined) {
    // Before any migration ran: the migration tables, the lock, or an order that does not match the database.
    log.error({ err: reason }, 'migrations could not run');
    throw new MigrationFailed(`migrations could not run: ${reason}`, { cause: error });
  }
  const applied = (results ?? []).map((result) => result.migrationName);
  for (const migration of applied) log.info({ migration }, 'migration applied');
  if (applied.length === 0) log.info({}, 'database schema up to date');
  return { applied };
}

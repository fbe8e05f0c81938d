import { ConfigError } from '@tessera/config';
import { type Logger, redactUrl } from '@tessera/event-store';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { CONNECT_TIMEOUT_MS } from './connection-options.js';
import type { Database } from './schema.js';
import type { DatabaseSettings } from './settings.js';
import { unavailableAwareDialect } from './unavailable-dialect.js';

// An idle pooled connection is closed after this; the pool opens one again when needed.
const IDLE_TIMEOUT_MS = 30_000;
// SQLSTATEs at the first connection that no retry will change: the URL names a user, a password or
// a database the server refuses. They stop the start naming TESSERA_DATABASE_URL.
const REFUSED_SETTINGS: Record<string, string> = {
  '28P01': 'refused the password',
  '28000': 'refused the user',
  '3D000': 'has no such database',
};

/**
 * A pool of at most `poolSize` connections behind a typed Kysely, checked with one query so that a
 * start fails fast (the supervisor restarts it) rather than later on the first request. Errors
 * meaning "unreachable" become DatabaseUnavailable; a refused user, password or database a
 * ConfigError naming TESSERA_DATABASE_URL. Logs the URL without its password.
 */
export async function openDatabase({ url, poolSize }: DatabaseSettings, log: Logger): Promise<Kysely<Database>> {
  const server = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  });
  // An idle connection that the server closes (a restart) is reported here; without a listener it
  // would be an uncaught 'error' event and end the process. The pool opens a new one when needed.
  pool.on('error', (err) => log.warn({ server, err: err.message }, 'idle PostgreSQL connection lost'));
  const db = new Kysely<Database>({ dialect: unavailableAwareDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    const refused = REFUSED_SETTINGS[(err as { code?: string }).code ?? ''];
    if (refused) throw new ConfigError(`TESSERA_DATABASE_URL: ${server} ${refused}`);
    throw err;
  }
  log.info({ server, poolSize }, 'connected to PostgreSQL');
  return db;
}

import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * The directory with initdb, postgres, pg_isready and psql: PG_BIN, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH), else the directory of pg_ctl on PATH.
 */
export async function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.PG_BIN) {
    if (!existsSync(join(env.PG_BIN, 'postgres'))) throw new Error(`PG_BIN=${env.PG_BIN} holds no postgres binary`);
    return env.PG_BIN;
  }
  const versions = existsSync(DEBIAN_ROOT) ? await readdir(DEBIAN_ROOT) : [];
  const newest = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0];
  if (newest !== undefined) return join(DEBIAN_ROOT, newest, 'bin');
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  throw new Error('no PostgreSQL server binaries found: install PostgreSQL or set PG_BIN to its bin directory');
}

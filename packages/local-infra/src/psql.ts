import { join } from 'node:path';
import { runCommand } from './run-command.js';

/** The environment of our PostgreSQL client tools: no PG* variables of the caller's steering them elsewhere. */
export function cleanPgEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('PG')));
}

/**
 * Runs SQL through psql against `url` (stops at the first error) and returns its unaligned,
 * tuples-only output: `select 1` gives "1\n". The SQL goes in on stdin, so psql variables
 * (`vars`, used as :'name') are interpolated.
 */
export function psql(binDir: string, url: string, sql: string, vars: Record<string, string> = {}): Promise<string> {
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ['-v', `${name}=${value}`]);
  return runCommand(join(binDir, 'psql'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', ...varArgs, '-d', url], {
    input: sql,
    env: cleanPgEnv(),
  });
}

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, lstat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LogFn } from './output-lines.js';
import { type RunAs, runCommand, succeeds } from './run-command.js';

/**
 * PostgreSQL refuses to run as root: then run it as the `postgres` OS user. Null means "as we are".
 */
export async function postgresRunAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number((await runCommand('id', ['-u', 'postgres'])).trim());
    const gid = Number((await runCommand('id', ['-g', 'postgres'])).trim());
    return { uid, gid };
  } catch (err) {
    throw new Error('PostgreSQL does not run as root, and there is no `postgres` OS user to run it as', {
      cause: err,
    });
  }
}

/**
 * The directory the cluster lives in: `requested` when the server's user can use it, otherwise
 * (running as root with a data dir under /root or a checkout postgres cannot enter) a directory
 * under /var/tmp owned by postgres, named after a hash of the requested path so the same request
 * finds the same cluster again.
 */
export async function prepareDataDir(requested: string, runAs: RunAs, log: LogFn): Promise<string> {
  const dir = resolve(requested);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (runAs === null) return dir;
  await chown(dir, runAs.uid, runAs.gid);
  if (await succeeds('test', ['-r', dir, '-a', '-w', dir, '-a', '-x', dir], { runAs })) return dir;

  const base = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
  const fallback = join(base, `tessera-pg-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  await mkdir(fallback, { recursive: true, mode: 0o700 });
  const stat = await lstat(fallback);
  // Someone else could have made this path in a world-writable dir first: refuse what we did not make.
  if (!stat.isDirectory() || (stat.uid !== 0 && stat.uid !== runAs.uid)) {
    throw new Error(`${fallback} exists and is not a directory owned by root or postgres; remove it`);
  }
  await chown(fallback, runAs.uid, runAs.gid);
  log(`[local-infra] postgres (uid ${runAs.uid}) cannot reach ${dir}; keeping this cluster in ${fallback} instead`);
  return fallback;
}

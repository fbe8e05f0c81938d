import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** 256 bits: the HMAC key of address keys, session ids and digests. */
export const SERVER_SECRET_BYTES = 32;

/** The operator's TESSERA_SECRET_KEY_FILE (made absolute against `cwd`), else <data>/secrets/server.key. */
export function serverSecretFileFor(settings: Readonly<Record<string, string>>, dataDir: string, cwd: string): string {
  const configured = settings.TESSERA_SECRET_KEY_FILE;
  return configured ? resolve(cwd, configured) : join(dataDir, 'secrets', 'server.key');
}

/**
 * Makes the runner's own server secret if there is none yet: 32 random bytes, base64, one line,
 * in a 0700 directory, mode 0600. An existing file is kept, because every address key and
 * session id already in the stream was derived from it. Returns true when it made one.
 *
 * Atomic: the secret is written and synced under a temporary name, then hard-linked to its
 * place. link() never replaces a file, so a reader sees a whole secret or none, and of two
 * runners racing on one data dir the first one wins and both use its secret.
 */
export function ensureServerSecret(file: string): boolean {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a directory it creates; one made by hand may be wider.
  chmodSync(dir, 0o700);
  if (existsSync(file)) return false;
  const temporary = join(dir, `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(SERVER_SECRET_BYTES).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temporary);
  }
  syncDirectory(dir); // the new name survives a crash of the machine
  return true;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

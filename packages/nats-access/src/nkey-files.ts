import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from 'nkeys.js';
import { IDENTITY_NAMES, type IdentityName } from './identities.js';
import type { IdentityKey } from './server-config.js';

/** `<dir>/<identity>.nk`: one nkey seed (`SU…`) per identity, made once and kept. */
export const identityFileOf = (dir: string, identity: IdentityName) => join(dir, `${identity}.nk`);

export type IdentityFile = IdentityKey & { file: string };

/**
 * Makes the seed file of every identity that has none (directory 0700, files 0600, written whole
 * under a temporary name and renamed into place) and returns each identity's file and public key.
 * Existing seeds are kept: the server's configuration and every service's credentials depend on them.
 */
export async function ensureIdentityFiles(
  dir: string,
  identities: readonly IdentityName[] = IDENTITY_NAMES,
): Promise<IdentityFile[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files: IdentityFile[] = [];
  for (const identity of identities) {
    const file = identityFileOf(dir, identity);
    let seed = await readSeed(file);
    if (seed === null) {
      seed = new TextDecoder().decode(createUser().getSeed());
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${seed}\n`, { mode: 0o600 });
      await rename(temporary, file);
    }
    await chmod(file, 0o600);
    files.push({ identity, file, publicKey: publicKeyOfSeed(seed, file) });
  }
  return files;
}

async function readSeed(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function publicKeyOfSeed(seed: string, file: string): string {
  try {
    return fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch {
    throw new Error(`${file} does not hold an nkey seed`);
  }
}

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes `content` to `file` only if the file does not exist yet, all at once: a synced temporary
 * file beside it (created with `mode`, set exactly whatever the umask), then a hard link to the
 * name, which fails rather than replace a file another process made meanwhile; the directory (made
 * with `dirMode` when missing) is synced after. False when the name was taken first. File systems
 * without hard links get a rename, atomic too but replacing a file made meanwhile. For key files
 * (signing's store, the one a Sydent import hands over) and whatever else must not be half-written.
 */
export async function createNewFile(
  file: string,
  content: string,
  { mode, dirMode }: { mode: number; dirMode: number },
): Promise<boolean> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: dirMode });
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tessera.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw err;
    await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => {});
  }
  await syncDir(dir);
  return true;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } catch {
    // Not every platform can fsync a directory; the file itself is synced.
  } finally {
    await handle.close();
  }
}

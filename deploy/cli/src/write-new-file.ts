import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The file appeared while it was being written: whoever made it wins. */
export class FileAppeared extends Error {
  override readonly name = 'FileAppeared';
}

/**
 * Creates `file` with `content` and `mode` (its directory with `dirMode` when missing), all at
 * once: a synced temporary file beside it, then a hard link to the name, which fails rather than
 * replace a file that appeared meanwhile (FileAppeared). File systems without hard links get a
 * rename.
 */
export async function writeNewFile(file: string, content: string, mode: number, dirMode = 0o700): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: dirMode });
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tessera.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.chmod(mode); // the umask may have narrowed it; set it exactly
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new FileAppeared(`${file} appeared while it was being written: run again`);
    if (!['EPERM', 'ENOTSUP', 'EXDEV', 'ENOSYS'].includes(code ?? '')) throw err;
    await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

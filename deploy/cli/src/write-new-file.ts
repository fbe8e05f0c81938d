import { createNewFile } from '@tessera/signing-keys';

/** The file appeared while it was being written: whoever made it wins. */
export class FileAppeared extends Error {
  override readonly name = 'FileAppeared';
}

/** Creates `file` all at once (signing-keys' createNewFile); FileAppeared when another made it meanwhile. */
export async function writeNewFile(file: string, content: string, mode: number, dirMode = 0o700): Promise<void> {
  if (!(await createNewFile(file, content, { mode, dirMode })))
    throw new FileAppeared(`${file} appeared while it was being written: run again`);
}

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createNewFile } from './new-file.js';

describe('a new file written all at once', () => {
  it('is created with the mode asked, in a folder made with its own, and never replaces one that exists', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tessera-new-file-'));
    try {
      const file = join(root, 'keys', 'signing.key');
      assert.equal(await createNewFile(file, 'first\n', { mode: 0o600, dirMode: 0o700 }), true);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await stat(join(root, 'keys'))).mode & 0o777, 0o700);
      assert.equal(await createNewFile(file, 'second\n', { mode: 0o600, dirMode: 0o700 }), false);
      assert.equal(await readFile(file, 'utf8'), 'first\n');
      const [race1, race2] = await Promise.all(
        ['a', 'b'].map((content) => createNewFile(join(root, 'race'), content, { mode: 0o644, dirMode: 0o755 })),
      );
      assert.equal(Number(race1) + Number(race2), 1, 'one of two writers at once wins');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

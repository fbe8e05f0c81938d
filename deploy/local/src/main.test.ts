import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

describe('node deploy/local/dist/main.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-main-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function run(env: Record<string, string>) {
    return spawnSync(process.execPath, [MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  it('prints a bad setting and exits 78 before starting anything', () => {
    const result = run({ TESSERA_HTTP_PORT: 'eighty', TESSERA_DATA_DIR: 'data' });
    assert.equal(result.status, 78);
    assert.match(result.stdout, /^runner {3}\| invalid configuration:\nrunner {3}\| {3}TESSERA_HTTP_PORT: /m);
    assert.equal(
      result.stdout
        .split('\n')
        .filter(Boolean)
        .every((line) => line.startsWith('runner   | ')),
      true,
    );
  });

  it('refuses a misspelt setting', () => {
    const result = run({ TESSERA_HTTP_PROT: '18090' });
    assert.equal(result.status, 78);
    assert.match(result.stdout, /TESSERA_HTTP_PROT: unknown setting/);
  });
});

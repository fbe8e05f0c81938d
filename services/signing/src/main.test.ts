import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runToExit } from '@tessera/test-harness';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const EXIT_CONFIG = 78;

const runMain = (env: Record<string, string>) => runToExit(MAIN, env);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-signing-main-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the signing service process', () => {
  it('refuses to start without the TLS files, naming them, before it touches the key store', async () => {
    const { code, stderr } = await runMain({ TESSERA_DATA_DIR: dir, TESSERA_NATS_URL: 'nats://127.0.0.1:4222' });
    assert.equal(code, EXIT_CONFIG);
    assert.match(stderr, /TESSERA_TLS_CA_FILE/);
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses to start without TESSERA_NATS_URL, naming it', async () => {
    const file = join(dir, 'placeholder.pem');
    await writeFile(file, 'not read as a certificate before NATS is checked');
    const { code, stderr } = await runMain({
      TESSERA_DATA_DIR: join(dir, 'data'),
      TESSERA_TLS_CA_FILE: file,
      TESSERA_TLS_CERT_FILE: file,
      TESSERA_TLS_KEY_FILE: file,
    });
    assert.equal(code, EXIT_CONFIG);
    assert.match(stderr, /TESSERA_NATS_URL/);
  });
});

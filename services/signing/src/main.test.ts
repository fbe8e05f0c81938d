import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const EXIT_CONFIG = 78;

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

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

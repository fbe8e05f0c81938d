import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { provision } from '@tessera/nats-access';
import { runToExit, startNats } from '@tessera/test-harness';
import { connect } from 'nats';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

const run = (env: Record<string, string>) => runToExit(MAIN, env);

describe('gateway main', () => {
  it('stops at start with exit code 78 and the key name when a setting is wrong', async () => {
    const { code, stderr } = await run({ TESSERA_HTTP_PORT: 'eighty' });
    assert.equal(code, 78);
    assert.match(stderr, /TESSERA_HTTP_PORT/);
  });

  it('stops when one TLS file is given without the others', async () => {
    const { code, stderr } = await run({ TESSERA_TLS_CA_FILE: '/nonexistent/ca.pem', TESSERA_HTTP_PORT: '0' });
    assert.equal(code, 78);
    assert.match(stderr, /TESSERA_TLS_CERT_FILE, TESSERA_TLS_KEY_FILE: required/);
  });

  it('stops at start naming TESSERA_NATS_URL when NATS is not given, rate limits on or off (it follows the signing keys there)', async () => {
    for (const limits of ['on', 'off']) {
      const { code, stderr } = await run({
        TESSERA_HTTP_PORT: '0',
        TESSERA_METRICS_LISTEN: '127.0.0.1:0',
        TESSERA_RATE_LIMITS: limits,
      });
      assert.equal(code, 78, limits);
      assert.match(stderr, /TESSERA_NATS_URL: required by gateway/, limits);
    }
  });

  it('stops at start naming the file when a template cannot render', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-gateway-main-'));
    try {
      await mkdir(join(dir, 'tessera'));
      await writeFile(join(dir, 'tessera', 'verification_template.eml.j2'), 'Subject: x\n\nbody\n');
      // Compiles, and fails whenever it renders: nunjucks looks filters up only then.
      await writeFile(join(dir, 'tessera', 'verify_response_template.html'), '<p>{{ message|no_such_filter }}</p>\n');
      const { code, stderr } = await run({
        TESSERA_HTTP_PORT: '0',
        TESSERA_METRICS_LISTEN: '127.0.0.1:0',
        TESSERA_RATE_LIMITS: 'off',
        TESSERA_NATS_URL: 'nats://127.0.0.1:1', // checked, not reached: the templates stop it first
        TESSERA_TEMPLATES_DIR: dir,
      });
      assert.equal(code, 78);
      assert.ok(stderr.includes(join(dir, 'tessera', 'verify_response_template.html')), stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 0 on SIGTERM once it is listening', { timeout: 30_000 }, async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const admin = await connect({ servers: nats.url });
    await provision(admin, { replicas: 1, longestRateLimitWindowMs: 3_600_000 });
    await admin.close();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        TESSERA_HTTP_PORT: '0',
        TESSERA_METRICS_LISTEN: '127.0.0.1:0',
        TESSERA_RATE_LIMITS: 'off',
        TESSERA_NATS_URL: nats.url,
      },
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    while (!stdout.includes('gateway listening')) {
      if (child.exitCode !== null) assert.fail(`exited with ${child.exitCode} before listening: ${stdout}`);
      await new Promise((ok) => setTimeout(ok, 20));
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stdout, /"msg":"stopped"/);
  });
});

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureServerSecret, serverSecretFileFor } from './server-secret.js';

describe('the server secret', () => {
  const base = mkdtempSync(join(tmpdir(), 'runner-secret-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('is made once: 32 random bytes, base64, one line, 0600 in a 0700 directory, and kept afterwards', () => {
    const file = join(base, 'data', 'secrets', 'server.key');
    assert.equal(ensureServerSecret(file), true);
    const secret = readFileSync(file, 'utf8');
    assert.match(secret, /^[A-Za-z0-9+/]+=*\n$/);
    assert.equal(Buffer.from(secret.trim(), 'base64').length, 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(base, 'data', 'secrets')).mode & 0o777, 0o700);

    assert.equal(ensureServerSecret(file), false, 'a restart keeps it');
    assert.equal(readFileSync(file, 'utf8'), secret);
    assert.deepEqual(readdirSync(join(base, 'data', 'secrets')), ['server.key'], 'no temporary file is left');
  });

  it('differs between data dirs, and tightens a directory made by hand', () => {
    const dir = join(base, 'other', 'secrets');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const file = join(dir, 'server.key');
    ensureServerSecret(file);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.notEqual(readFileSync(file, 'utf8'), readFileSync(join(base, 'data', 'secrets', 'server.key'), 'utf8'));
  });

  it('lives in <data>/secrets unless the operator names a file, which is made absolute', () => {
    assert.equal(serverSecretFileFor({}, '/srv/t', '/home/op'), '/srv/t/secrets/server.key');
    assert.equal(
      serverSecretFileFor({ TESSERA_SECRET_KEY_FILE: 'keys/server.key' }, '/srv/t', '/home/op'),
      '/home/op/keys/server.key',
    );
  });
});

import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@tessera/config';
import { createSecrets, readServerSecret } from './secrets.js';

const KEY = Buffer.alloc(32, 7);
const secrets = createSecrets(KEY);
const namesTheSetting = (err: unknown) =>
  err instanceof ConfigError && err.message.startsWith('TESSERA_SECRET_KEY_FILE:');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-secret-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('keyed digests', () => {
  it('computes addrKey as base64url HMAC-SHA256 of "addr\\0<medium>\\0<address>" (other services must agree)', () =>
    assert.equal(
      secrets.addrKey('email', 'alice@example.org'),
      createHmac('sha256', KEY).update('addr\0email\0alice@example.org').digest('base64url'),
    ));

  it('gives one address one addrKey per medium', () => {
    assert.equal(secrets.addrKey('email', 'a@b.c'), secrets.addrKey('email', 'a@b.c'));
    assert.notEqual(secrets.addrKey('email', '447700900001'), secrets.addrKey('msisdn', '447700900001'));
  });

  it('digests a token and a client secret of the same text differently', () =>
    assert.notEqual(secrets.digest('token', 'abc'), secrets.digest('client_secret', 'abc')));

  it('derives the same 22-character sid for the same medium, address and client secret', () => {
    const sid = secrets.sid('email', 'alice@example.org', 'secret');
    assert.match(sid, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(secrets.sid('email', 'alice@example.org', 'secret'), sid);
    assert.notEqual(secrets.sid('email', 'alice@example.org', 'other'), sid);
    assert.notEqual(secrets.sid('msisdn', 'alice@example.org', 'secret'), sid);
  });

  it('keeps the parts apart: the same characters split differently give another sid', () =>
    assert.notEqual(secrets.sid('email', 'ab', 'c'), secrets.sid('email', 'a', 'bc')));

  it('computes userKey as base64url HMAC-SHA256 of "user\\0<user id>": keyed, unlike a plain hash of it', () => {
    const userKey = secrets.userKey('@alice:example.org');
    assert.equal(userKey, createHmac('sha256', KEY).update('user\0@alice:example.org').digest('base64url'));
    assert.notEqual(userKey, createHash('sha256').update('@alice:example.org').digest('base64url'));
    assert.notEqual(createSecrets(Buffer.alloc(32, 8)).userKey('@alice:example.org'), userKey);
  });

  it('depends on the server secret', () =>
    assert.notEqual(createSecrets(Buffer.alloc(32, 8)).addrKey('email', 'a@b.c'), secrets.addrKey('email', 'a@b.c')));
});

describe('the server secret file', () => {
  it('reads 32 bytes of base64 written as one line', async () => {
    const file = join(dir, 'good.key');
    await writeFile(file, `${KEY.toString('base64')}\n`);
    assert.deepEqual(readServerSecret(file), KEY);
  });

  it('stops the service when TESSERA_SECRET_KEY_FILE is unset', () =>
    assert.throws(() => readServerSecret(undefined), namesTheSetting));

  it('stops the service when the file cannot be read', () =>
    assert.throws(() => readServerSecret(join(dir, 'missing.key')), namesTheSetting));

  it('stops the service when the secret is shorter than 32 bytes', async () => {
    const file = join(dir, 'short.key');
    await writeFile(file, Buffer.alloc(31, 1).toString('base64'));
    assert.throws(() => readServerSecret(file), namesTheSetting);
  });

  it('stops the service when the file is not base64', async () => {
    const file = join(dir, 'text.key');
    await writeFile(file, 'this is not a key, just words\n');
    assert.throws(() => readServerSecret(file), namesTheSetting);
  });
});

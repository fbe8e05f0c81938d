import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigError } from '@tessera/config';
import { createLogger } from '@tessera/service-kit';
import { addKey, openKeyStore } from './key-store.js';
import { keysCli } from './keys-command.js';

const silent = createLogger('signing-test', 'silent');
const SYDENT_LINE = 'ed25519 0 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n';

async function keyFile(text = SYDENT_LINE): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'signing-rotate-')), 'signing.key');
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

describe('adding a key (rotation)', () => {
  it('writes the new key first, so signing uses it, and keeps the older ones with their seeds', async () => {
    const file = await keyFile();
    const before = await openKeyStore(file, silent);
    const added = await addKey(file, '1');
    const after = await openKeyStore(file, silent);
    assert.deepEqual(
      after.keys.map((key) => key.keyId),
      ['ed25519:1', 'ed25519:0'],
    );
    assert.equal(after.keys[0]?.publicKeyBase64, added.publicKeyBase64);
    assert.equal(after.get('ed25519:0')?.publicKeyBase64, before.get('ed25519:0')?.publicKeyBase64);
    assert.ok((await readFile(file, 'utf8')).endsWith(SYDENT_LINE), 'the older line is kept as it was');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('makes a different key each time', async () => {
    const file = await keyFile();
    const one = await addKey(file, 'a');
    const two = await addKey(file, 'b');
    assert.notEqual(one.publicKeyBase64, two.publicKeyBase64);
  });

  it('refuses a version the file holds, a malformed version, and a missing file, changing nothing', async () => {
    const file = await keyFile();
    await assert.rejects(
      addKey(file, '0'),
      (err: Error) => err instanceof ConfigError && /already holds ed25519:0/.test(err.message),
    );
    await assert.rejects(addKey(file, 'a:b'), ConfigError);
    await assert.rejects(addKey(join(file, '..', 'missing.key'), '1'), /does not exist/);
    assert.equal(await readFile(file, 'utf8'), SYDENT_LINE);
  });

  it('is run as `keys-cli add <version>`, printing the key id and public key and never the seed', async () => {
    const file = await keyFile();
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk) => {
      printed += String(chunk);
    });
    assert.equal(await keysCli(['add', '2', '--file', file], {}, out), 0);
    const [line] = (await readFile(file, 'utf8')).split('\n');
    const seed = line?.split(' ')[2] ?? '';
    assert.match(printed, /^added ed25519:2 \(public key [A-Za-z0-9+/]{43}\) first in /);
    assert.ok(seed.length > 40 && !printed.includes(seed), 'the seed is not printed');
    assert.equal(await keysCli(['remove', '2'], {}, out), 64, 'anything but add is a usage error');
  });
});

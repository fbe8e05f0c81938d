import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyFileState, parseSydentSigningKey, SigningKeyError, writeKeyFile } from './signing-key-file.js';

const SAMPLE_KEY = 'ed25519 0 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y';
const SEED_HEX = Buffer.from('nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y', 'base64').toString('hex');

describe('handing Sydent’s signing key to signing’s key file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-key-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps Sydent’s line, and turns a legacy 64-hex seed into version 0', () => {
    assert.deepEqual(parseSydentSigningKey(` ${SAMPLE_KEY} `), { keyId: 'ed25519:0', line: SAMPLE_KEY });
    assert.deepEqual(parseSydentSigningKey(SEED_HEX), { keyId: 'ed25519:0', line: SAMPLE_KEY });
    assert.equal(
      parseSydentSigningKey('ed25519 a_b1 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y').keyId,
      'ed25519:a_b1',
    );
    assert.throws(() => parseSydentSigningKey('ed25519 0 c2hvcnQ'), /not base64 of 32 bytes/);
    assert.throws(() => parseSydentSigningKey('rsa 0 x'), SigningKeyError);
  });

  it('writes the file 0600 in a 0700 directory; the same key again is fine; another key is refused by id only', async () => {
    const file = join(dir, 'signing', 'signing.key');
    const key = parseSydentSigningKey(SAMPLE_KEY);
    assert.equal(await keyFileState(file, key), 'write');
    await writeKeyFile(file, key);
    assert.equal(await readFile(file, 'utf8'), `${SAMPLE_KEY}\n`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'signing'))).mode & 0o777, 0o700);
    assert.equal(await keyFileState(file, key), 'identical');
    const other = join(dir, 'other.key');
    await writeFile(
      other,
      'ed25519 0 XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI\ned25519 1 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y\n',
    );
    await assert.rejects(keyFileState(other, key), (err: Error) => {
      assert.match(err.message, /already holds key ed25519:0, ed25519:1/);
      assert.doesNotMatch(err.message, /XGX0|nVZ\+/, 'never a seed');
      return true;
    });
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { findNatsServerBinary, parseNatsServerVersion, pickNatsServerBinary } from './nats-binary.js';

describe('parseNatsServerVersion', () => {
  it('reads the version nats-server --version prints', () => {
    assert.deepEqual(parseNatsServerVersion('nats-server: v2.10.27\n'), { major: 2, minor: 10, patch: 27 });
    assert.deepEqual(parseNatsServerVersion('2.9.10'), { major: 2, minor: 9, patch: 10 });
    assert.equal(parseNatsServerVersion('command not found'), null);
  });
});

describe('choosing a nats-server binary', () => {
  let dir: string;
  const fake = (name: string, version: string) => join(dir, `${name}-${version}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-nats-bin-'));
    for (const [name, version] of [
      ['old', 'v2.9.10'],
      ['new', 'v2.11.4'],
    ] as const) {
      await writeFile(fake(name, version), `#!/bin/sh\necho "nats-server: ${version}"\n`);
      await chmod(fake(name, version), 0o755);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('takes the first candidate that is 2.10 or newer, skipping older and missing ones', async () => {
    const chosen = await pickNatsServerBinary([join(dir, 'missing'), fake('old', 'v2.9.10'), fake('new', 'v2.11.4')]);
    assert.equal(chosen, fake('new', 'v2.11.4'));
  });

  it('says to run scripts/ensure-nats-server.sh when none is new enough', async () => {
    await assert.rejects(pickNatsServerBinary([fake('old', 'v2.9.10'), join(dir, 'missing')]), (err: Error) => {
      assert.match(err.message, /scripts\/ensure-nats-server\.sh/);
      assert.match(err.message, /2\.9\.10.*too old/);
      return true;
    });
  });

  it('prefers TESSERA_NATS_SERVER_BIN over the repository copy and PATH', async () => {
    const env = { ...process.env, TESSERA_NATS_SERVER_BIN: fake('new', 'v2.11.4') };
    assert.equal(await findNatsServerBinary(env), fake('new', 'v2.11.4'));
  });

  it('falls back to a 2.10+ binary (the repository copy or PATH) when TESSERA_NATS_SERVER_BIN is too old', async () => {
    const env = { ...process.env, TESSERA_NATS_SERVER_BIN: fake('old', 'v2.9.10') };
    const chosen = await findNatsServerBinary(env);
    assert.notEqual(chosen, fake('old', 'v2.9.10'));
    const { stdout } = await promisify(execFile)(chosen, ['--version']);
    const version = parseNatsServerVersion(stdout);
    assert.ok(version !== null && version.major === 2 && version.minor >= 10, stdout);
  });
});

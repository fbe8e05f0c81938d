import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, registerUser } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { REPO_ROOT } from './system/repo-root.js';
import { eventually, type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// `tessera directory …` against the whole running system: the local runner turns the directory's
// admin API on (on loopback; here with a token file), the CLI finds it through the runner's state
// file, and every change it makes is seen at once by the public lookups.
const CLI = join(REPO_ROOT, 'deploy/cli/dist/main.js');
const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let files: string;
let tokenFile: string;

before(async () => {
  files = mkdtempSync(join(tmpdir(), 'tessera-cli-e2e-'));
  tokenFile = join(files, 'admin.token');
  writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  world = await startOutsideWorld();
  system = await startSystem({
    env: { ...world.env, TESSERA_RATE_LIMITS: 'off', TESSERA_DIRECTORY_ADMIN_TOKEN_FILE: tokenFile },
  });
  call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
});
after(async () => {
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
  if (files) rmSync(files, { recursive: true, force: true });
});

/** `tessera <args>` as an operator runs it next to the runner (its data dir, the token file unless told). */
function tessera(args: string[], env: Record<string, string> = {}, { withToken = true } = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          TESSERA_DATA_DIR: system.dataDir,
          ...(withToken ? { TESSERA_DIRECTORY_ADMIN_TOKEN_FILE: tokenFile } : {}),
          ...env,
        },
      },
      (err, out, errText) => resolve({ code: err ? Number(err.code) : 0, out, err: errText }),
    );
  });
}

const v1Lookup = async (address: string) =>
  (await call<{ mxid?: string }>(`${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`)).body;

describe('tessera directory', () => {
  it('imports a JSON-lines file: every good line is found at once, every bad one is named by its line number', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 2_500; i++)
      lines.push(JSON.stringify({ medium: 'email', address: `Imported${i}@Cli.Example`, mxid: `@i${i}:cli.example` }));
    // Past the first signing batch of 1000: the line numbers still count from the file's start.
    lines[1_499] = '{"medium":"email","address":"x@cli.example"'; // cut short
    lines[2_000] = JSON.stringify({ medium: 'email', address: 'y@cli.example', mxid: 'not-a-user' });
    lines.push('', JSON.stringify({ medium: 'email', address: 'z@cli.example', mxid: '@z:cli.example', ts: -1 }));
    const file = join(files, 'import.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const imported = await tessera(['directory', 'import', file]);
    assert.equal(imported.code, 1, 'a failed line makes the exit code 1');
    assert.match(imported.out, /^imported 2498, failed 3 from .*import\.jsonl in [\d.]+ s/);
    assert.match(imported.out, /\n {2}line 1500: M_NOT_JSON /);
    assert.match(imported.out, /\n {2}line 2001: M_INVALID_PARAM mxid must be a Matrix user ID/);
    assert.match(imported.out, /\n {2}line 2502: M_INVALID_PARAM ts must be/);
    // At once, without waiting: the import answers once the projector has applied every line.
    assert.equal((await v1Lookup('imported0@cli.example')).mxid, '@i0:cli.example');
    assert.equal((await v1Lookup('imported2499@cli.example')).mxid, '@i2499:cli.example');
    assert.deepEqual(await v1Lookup('imported1499@cli.example'), {});
  });

  it('binds, printing the signed association, and unbinds; lookups follow at once', async () => {
    const bound = await tessera(['directory', 'bind', 'email', 'Bound@Cli.Example', '@bound:cli.example']);
    assert.equal(bound.code, 0, bound.err);
    const association = JSON.parse(bound.out) as { address: string; mxid: string };
    assert.equal(association.address, 'bound@cli.example');
    assert.equal(association.mxid, '@bound:cli.example');
    const key = (await call<{ public_key: string }>(`${V2}/pubkey/ed25519:0`)).body.public_key;
    assert.ok(
      verifyJsonSignature(association, { entity: 'localhost', keyId: 'ed25519:0', publicKey: decodeBase64(key) }),
      'signed with the published key',
    );
    assert.deepEqual(await v1Lookup('bound@cli.example'), association);

    const unbound = await tessera(['directory', 'unbind', 'email', 'bound@cli.example']);
    assert.equal(unbound.code, 0, unbound.err);
    assert.match(unbound.out, /^unbound email bound@cli\.example/);
    assert.deepEqual(await v1Lookup('bound@cli.example'), {});
  });

  it('rotates the lookup pepper: hash_details offers another one once it is indexed', async () => {
    const user = await registerUser(call, world);
    const pepperNow = async () =>
      (await call<{ lookup_pepper: string }>(`${V2}/hash_details`, { headers: bearer(user.token) })).body.lookup_pepper;
    const before = await pepperNow();
    const rotated = await tessera(['directory', 'pepper-rotate']);
    assert.equal(rotated.code, 0, rotated.err);
    assert.match(rotated.out, /^requested a new lookup pepper \(id \S+\)/);
    // Offered once the projector has indexed every binding under it (the import's thousands too).
    await eventually(async () => (await pepperNow()) !== before, 60_000, 'hash_details offering the new pepper');
  });

  it('is refused without the token, and says where it could not reach or what it needs', async () => {
    const noToken = await tessera(['directory', 'unbind', 'email', 'a@cli.example'], {}, { withToken: false });
    assert.equal(noToken.code, 1);
    assert.match(noToken.err, /HTTP 401 M_UNAUTHORIZED/);

    const closed = await tessera(['directory', 'pepper-rotate', '--admin-url', 'http://127.0.0.1:1']);
    assert.equal(closed.code, 1);
    assert.match(closed.err, /cannot reach the directory admin API at http:\/\/127\.0\.0\.1:1/);

    const nowhere = await tessera(['directory', 'pepper-rotate'], { TESSERA_DATA_DIR: files });
    assert.equal(nowhere.code, 64);
    assert.match(nowhere.err, /cannot find the directory admin API: give --admin-url/);

    const usage = await tessera(['directory', 'bind', 'email', 'a@cli.example']);
    assert.equal(usage.code, 64);
    assert.match(usage.err, /directory bind takes <medium> <address> <mxid>/);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, signJson, verifyJsonSignature } from '@tessera/canonical-json';
import { freePort as freePortOn } from '@tessera/local-infra';
import { lookupHash } from '@tessera/lookup-hash';
import { connectAsIdentity, type FakeHomeserver, startFakeHomeserver } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import sqlite from 'node-sqlite3-wasm';
import { parse as parseYaml } from 'yaml';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json } from './system/flows.js';
import { importSummaryOf } from './system/import-summary.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { REPO_ROOT } from './system/repo-root.js';
import {
  eventually,
  natsStoreBytes,
  type RunningSystem,
  removeDataDir,
  startSystem,
  tempDataDir,
} from './system/running-system.js';

// Issue 11: the sample Sydent deployment (test/fixtures/sydent-sample, made by driving a real
// Sydent through its APIs) imported into a fresh system with `tessera import sydent`, then every
// answer its README expects, asked through the gateway as clients and homeservers ask.
const SAMPLE = join(REPO_ROOT, 'test/fixtures/sydent-sample');
const CLI = join(REPO_ROOT, 'deploy/cli/dist/main.js');
const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const HS = '127.0.0.1:8492';
const SERVER = 'id.example.test';
const PUBLIC_KEY = 'KoqYm/lcWfB/DLKy+NQHilhAOrBmbm62oWOrqKdR4PE';
const PEER = 'peer.example.test';
const PEER_KEY = 'ZnxmjkyKh+BAP97df8BqKRo613lFbqv1SobIwaBbMQQ';
const HOUR_MS = 3_600_000;

type Facts = {
  t_end: number;
  pepper: string;
  tokens: { carol: string[]; carol_logged_out: string; bob: string[]; dave: string[] };
  invites: Record<string, { token: string; ephemeral_private_key: string; public_keys: { public_key: string }[] }>;
  steps: { who: string; sid?: string; client_secret?: string; validation_token?: string }[];
};
const facts = JSON.parse(readFileSync(join(SAMPLE, 'captures/facts.json'), 'utf8')) as Facts;
// The services' clock during the test: an hour after the sample was captured, so that its
// validation sessions are still in progress, as they would be at a real cutover.
const SAMPLE_NOW = facts.t_end + HOUR_MS;

/** The README's expected live mapping (10 entries). */
const LIVE: { medium: 'email' | 'msisdn'; address: string; mxid: string }[] = [
  { medium: 'email', address: 'alice@example.org', mxid: `@alice:${HS}` },
  { medium: 'email', address: 'carol@example.com', mxid: `@carol:${HS}` },
  { medium: 'email', address: 'bob.smith@example.com', mxid: `@bob:${HS}` },
  { medium: 'email', address: 'erin@example.org', mxid: `@erin:${HS}` },
  { medium: 'email', address: 'gina@example.org', mxid: `@gina:${HS}` },
  { medium: 'email', address: 'jürgen.strasse@example.de', mxid: `@juergen:${HS}` },
  { medium: 'email', address: 'ivan@example.org', mxid: `@ivan.new:${HS}` },
  { medium: 'email', address: 'ivy@example.org', mxid: '@ivy:peer-hs.test' },
  { medium: 'msisdn', address: '447700900123', mxid: `@henry:${HS}` },
  { medium: 'msisdn', address: '15555550123', mxid: '@mia:peer-hs.test' },
];
const NOT_FOUND = ['carol.old', 'old', 'frank', 'grace', 'heidi', 'xavier', 'nobody'].map(
  (local) => `${local}@example.org`,
);
/** Own rows whose stored sgAssoc carries someone else's `invites` (README ⚠). */
const LEAKED = ['gina@example.org', 'jürgen.strasse@example.de', '447700900123', 'ivan@example.org'];

let world: OutsideWorld;
let homeserver: FakeHomeserver;
let system: RunningSystem;
let call: ObservedFetch;
let admin: NatsConnection;
let files: string;
let dataDir: string;
let configOut: string;
let firstImport: CliRun;
/**
 * Where the admin APIs listen: the imported YAML puts them on fixed loopback ports (Sydent's
 * internal API's, and the next ones), which on a shared test machine may be taken.
 */
const adminListen: Record<string, string> = {};

type CliRun = { code: number; out: string; err: string };

/** `tessera <args>` as an operator runs it next to the local runner (its data directory). */
function tessera(args: string[], env: Record<string, string> = {}) {
  return new Promise<CliRun>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          TESSERA_DATA_DIR: dataDir,
          ...adminListen,
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, out, errText) => resolve({ code: err ? Number(err.code) : 0, out, err: errText }),
    );
  });
}

const sampleArgs = (db = join(files, 'sydent.db')) => [
  'import',
  'sydent',
  '--db',
  db,
  '--config',
  join(files, 'sydent.conf'),
  '--terms',
  join(files, 'terms.yaml'),
  '--out',
  configOut,
];

function assertRan(run: CliRun, what: string) {
  assert.equal(run.code, 0, `${what} failed:\n${run.out}\n${run.err}`);
}

before(async () => {
  files = mkdtempSync(join(tmpdir(), 'tessera-sydent-'));
  for (const name of ['sydent.db', 'sydent.conf', 'terms.yaml']) copyFileSync(join(SAMPLE, name), join(files, name));
  configOut = join(files, 'tessera.yaml');
  dataDir = tempDataDir();
  world = await startOutsideWorld();
  // The sample's users live on a homeserver named by its port: onbind for them goes there.
  homeserver = await startFakeHomeserver({ port: 8492, serverName: HS });

  // Before Tessera starts: its configuration, and Sydent's key in signing's key store.
  assertRan(await tessera([...sampleArgs(), '--stage', 'config']), 'the config stage');

  for (const service of ['DIRECTORY', 'SESSION', 'INVITE'])
    adminListen[`TESSERA_${service}_ADMIN_LISTEN`] = `127.0.0.1:${await freePortOn('127.0.0.1')}`;
  world.setClockOffset(SAMPLE_NOW - Date.now());
  const env: Record<string, string> = { ...world.env };
  // The imported configuration's own terms file (Sydent's), not the test world's.
  delete env.TESSERA_TERMS_FILE;
  system = await startSystem({
    dataDir,
    env: {
      ...env,
      TESSERA_CONFIG: configOut,
      TESSERA_TERMS_FILE: join(files, 'terms.yaml'),
      // Sydent's paths and ports name its own machine; these are the test's.
      TESSERA_DEFAULT_BRAND: 'tessera',
      ...adminListen,
      TESSERA_RATE_LIMITS: 'off',
      TESSERA_ONBIND_RETRY_BASE_MS: '100',
      TESSERA_ONBIND_RETRY_MAX_MS: '500',
    },
  });
  call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
  const natsUrl = system.state().natsUrl;
  assert.ok(natsUrl);
  admin = await connectAsIdentity(natsUrl, 'admin', join(dataDir, 'nats', 'identities', 'admin.nk'));

  firstImport = await tessera([...sampleArgs(), '--stage', 'data', '--now', String(SAMPLE_NOW)]);
  assertRan(firstImport, 'the data stage');
});
after(async () => {
  await admin?.close().catch(() => {});
  await system?.stop();
  await homeserver?.close();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
  if (files) rmSync(files, { recursive: true, force: true });
});

const v1Lookup = async (medium: string, address: string) =>
  (await call<Record<string, unknown>>(`${V1}/lookup?medium=${medium}&address=${encodeURIComponent(address)}`)).body;

async function accountToken(token: string) {
  return call<{ user_id?: string; errcode?: string }>(`${V2}/account`, { headers: bearer(token) });
}

async function hashedLookup(addresses: { medium: string; address: string }[]) {
  const details = await call<{ lookup_pepper: string; algorithms: string[] }>(`${V2}/hash_details`, {
    headers: bearer(facts.tokens.carol[0] as string),
  });
  assert.equal(details.status, 200);
  const pepper = details.body.lookup_pepper;
  const hashes = addresses.map(({ medium, address }) => lookupHash(address, medium, pepper));
  const res = await call<{ mappings: Record<string, string> }>(
    `${V2}/lookup`,
    json({ algorithm: 'sha256', pepper, addresses: hashes }, bearer(facts.tokens.carol[0] as string)),
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { hashes, mappings: res.body.mappings };
}

/** Every stream's last sequence and message count: what an append would change. */
async function streamStates(): Promise<Record<string, string>> {
  const jsm = await admin.jetstreamManager();
  const states: Record<string, string> = {};
  for await (const info of jsm.streams.list()) {
    const { last_seq, messages } = info.state;
    states[info.config.name] = `${last_seq}/${messages}`;
  }
  return states;
}

describe('tessera import sydent: the sample deployment', () => {
  // First, before the tests below bind, submit and deliver (each of those appends, at its own pace).
  it('appends nothing when the same import runs again', async () => {
    // The first run's summary: planned, imported, present, refused per category.
    assert.deepEqual(importSummaryOf(firstImport.out), {
      pepper: [1, 1, 0, 0],
      associations: [10, 10, 0, 0],
      invites: [3, 3, 0, 0],
      'ephemeral keys': [4, 4, 0, 0],
      'account tokens': [4, 4, 0, 0],
      terms: [3, 3, 0, 0],
      sessions: [9, 9, 0, 0],
    });
    // Signing held Sydent's key (checked before anything was sent): the 4 clean own rows got
    // Sydent's signature again; the 4 stripped ones and the 2 peer rows got ours added.
    assert.match(firstImport.out, /4 same as Sydent's, 0 changed, 6 added/);
    const before = await streamStates();
    const again = await tessera([...sampleArgs(), '--stage', 'data', '--now', String(SAMPLE_NOW)]);
    assertRan(again, 'the second import');
    assert.deepEqual(await streamStates(), before);
    const secondSummary = importSummaryOf(again.out);
    assert.equal(Object.keys(secondSummary).length, 7, again.out);
    for (const [category, [planned, imported, present]] of Object.entries(secondSummary))
      assert.deepEqual([imported, present], [0, planned], `${category}: all present the second time`);
  });

  it('wrote a configuration that keeps the server name and public URL, and handed the key to signing only', () => {
    const config = parseYaml(readFileSync(configOut, 'utf8')) as Record<string, unknown>;
    assert.equal(config.TESSERA_SERVER_NAME, SERVER);
    assert.equal(config.TESSERA_PUBLIC_BASE_URL, 'http://127.0.0.1:8490');
    assert.ok(!readFileSync(configOut, 'utf8').includes('nVZ+KyYY'), 'no seed in the configuration');
    const keyFile = join(dataDir, 'signing', 'signing.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(readFileSync(keyFile, 'utf8').trim(), 'ed25519 0 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y');
  });

  it('serves Sydent public key, valid, on both trees', async () => {
    for (const tree of [V1, V2]) {
      const key = await call<{ public_key: string }>(`${tree}/pubkey/ed25519:0`);
      assert.equal(key.body.public_key, PUBLIC_KEY);
      const valid = await call<{ valid: boolean }>(
        `${tree}/pubkey/isvalid?public_key=${encodeURIComponent(PUBLIC_KEY)}`,
      );
      assert.equal(valid.body.valid, true);
    }
  });

  it('offers the kept lookup pepper', async () => {
    await eventually(
      async () =>
        (
          await call<{ lookup_pepper: string }>(`${V2}/hash_details`, {
            headers: bearer(facts.tokens.carol[0] as string),
          })
        ).body.lookup_pepper === facts.pepper,
      30_000,
      'hash_details to offer the imported pepper',
    );
  });

  it('finds every live mapping by v1 lookup, bulk_lookup and v2 sha256', async () => {
    for (const { medium, address, mxid } of LIVE) {
      const found = await v1Lookup(medium, address);
      assert.equal(found.mxid, mxid, `v1 lookup of ${address}`);
      assert.equal(found.address, medium === 'email' && address === 'ivy@example.org' ? 'Ivy@Example.org' : address);
    }
    const bulk = await call<{ threepids: string[][] }>(
      `${V1}/bulk_lookup`,
      json({ threepids: [...LIVE.map(({ medium, address }) => [medium, address]), ['email', 'nobody@example.org']] }),
    );
    assert.equal(bulk.status, 200);
    assert.deepEqual(
      new Set(bulk.body.threepids.map((row) => row.join(' '))),
      new Set(LIVE.map(({ medium, address, mxid }) => `${medium} ${address} ${mxid}`)),
    );
    // Sydent answers the highest mxid here (its ORDER BY bug): @alice:peer-hs.test and the stale @ivan.
    const { hashes, mappings } = await hashedLookup(LIVE);
    for (const [i, { mxid }] of LIVE.entries()) assert.equal(mappings[hashes[i] as string], mxid, LIVE[i]?.address);
  });

  it('finds no stale, expired, unbound or never-bound address', async () => {
    for (const address of NOT_FOUND) assert.deepEqual(await v1Lookup('email', address), {}, address);
    const { mappings } = await hashedLookup(NOT_FOUND.map((address) => ({ medium: 'email', address })));
    assert.deepEqual(mappings, {});
  });

  it('finds Jürgen however the address is cased (Sydent missed it)', async () => {
    for (const typed of ['Jürgen.Straße@Example.DE', 'jürgen.straße@example.de', 'JÜRGEN.STRASSE@EXAMPLE.DE'])
      assert.equal((await v1Lookup('email', typed)).mxid, `@juergen:${HS}`, typed);
  });

  it('keeps the old signatures, re-signs the rows that leaked invites as a clean signature, and countersigns peer rows', async () => {
    const publicKey = decodeBase64(PUBLIC_KEY);
    const seed = decodeBase64('nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y');
    const alice = await v1Lookup('email', 'alice@example.org');
    assert.equal(
      (alice.signatures as Record<string, Record<string, string>>)[SERVER]?.['ed25519:0'],
      '07Rxiagj3hVefftUN9nFa9xDe2loduzD6CrE5xUkQsLOP93XfJHr+YWyVRx3fVWdkf8zG4mwbDEkL8y9oicSCQ',
    );
    for (const { medium, address } of LIVE) {
      const found = await v1Lookup(medium, address);
      assert.deepEqual(
        Object.keys(found).sort(),
        ['address', 'medium', 'mxid', 'not_after', 'not_before', 'signatures', 'ts'],
        `${address}: the six fields and signatures, nothing leaked`,
      );
      assert.ok(
        verifyJsonSignature(found, { entity: SERVER, keyId: 'ed25519:0', publicKey: publicKey }),
        `${address} verifies with Sydent's key`,
      );
      const { signatures, ...fields } = found;
      const clean = signJson(fields, { entity: SERVER, keyId: 'ed25519:0', seed });
      assert.deepEqual(
        (signatures as Record<string, Record<string, string>>)[SERVER],
        clean.signatures[SERVER],
        `${address}: what a clean signature gives`,
      );
    }
    for (const address of LEAKED)
      assert.ok(
        !JSON.stringify(await v1Lookup(address.startsWith('4') ? 'msisdn' : 'email', address)).includes('invites'),
      );
    const ivy = await v1Lookup('email', 'ivy@example.org');
    assert.ok(
      verifyJsonSignature(ivy, { entity: PEER, keyId: 'ed25519:0', publicKey: decodeBase64(PEER_KEY) }),
      "the peer's signature still verifies",
    );
  });

  it('answers sign-ed25519 for the imported invite with the signature Sydent gave', async () => {
    const erin = facts.invites.erin;
    assert.ok(erin);
    const signed = await call<{
      mxid: string;
      sender: string;
      token: string;
      signatures: Record<string, Record<string, string>>;
    }>(`${V1}/sign-ed25519`, json({ private_key: erin.ephemeral_private_key, token: erin.token, mxid: `@erin:${HS}` }));
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(signed.body.sender, `@alice:${HS}`);
    assert.equal(
      signed.body.signatures[SERVER]?.['ed25519:0'],
      'jAUQLLvKFxAQ/R8qPYN+0C92PmUxD4Pi/HMUeJweQT9DJ31tgsVLQD3NXBWIbM9uIGc06G1quIjc8YZ5i9C/CA',
    );
  });

  it('keeps every ephemeral key valid, on the v1 path room state names', async () => {
    const keys = [
      'S7Jt50IC_134aFq5JzbvCgEdZzcgHZQRq4MpTWr9SLY',
      'GD_oUoyIlfeMoJcwqfzRuAEi1sv5DFvYsB3xpuvgrA4',
      'XSYDchSzE0OY9x8Fx1Xg50F-DAi1exjCqG5IAnn6s1c',
      '8qG6xZhnyjbY4tUpcMJlgAWcyIESsnYJtD4Fu-AYD6U',
    ];
    for (const key of keys) {
      const valid = await call<{ valid: boolean }>(
        `${V1}/pubkey/ephemeral/isvalid?public_key=${encodeURIComponent(key)}`,
      );
      assert.equal(valid.body.valid, true, key);
    }
  });

  it('keeps the v2 tokens and their terms: the logged-out one refused, the partial acceptance still asked', async () => {
    for (const token of [...facts.tokens.carol, ...facts.tokens.bob]) {
      const res = await accountToken(token);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    assert.equal((await accountToken(facts.tokens.carol[0] as string)).body.user_id, `@carol:${HS}`);
    const dave = await accountToken(facts.tokens.dave[0] as string);
    assert.equal(dave.status, 403);
    assert.equal(dave.body.errcode, 'M_TERMS_NOT_SIGNED');
    const loggedOut = await accountToken(facts.tokens.carol_logged_out);
    assert.equal(loggedOut.status, 401);
    assert.equal(loggedOut.body.errcode, 'M_UNAUTHORIZED');
  });

  it('carries validation sessions in progress on: a mailed token submitted, a validated session bound', async () => {
    // From the sample README (grace is not among facts.json's bound steps): mailed, never submitted.
    const grace = {
      sid: '1293331112',
      client_secret: 'grace-secret-1',
      validation_token: 'xavjYD80J0mU3FFFfpwDnK9QpSRS9RdQ',
    };
    const submitted = await call<{ success: boolean }>(
      `${V2}/validate/email/submitToken`,
      json(
        { sid: grace.sid, client_secret: grace.client_secret, token: grace.validation_token },
        bearer(facts.tokens.carol[0] as string),
      ),
    );
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    assert.equal(submitted.body.success, true);

    const heidi = facts.steps.find((step) => step.who === 'heidi');
    assert.ok(heidi?.sid && heidi.client_secret);
    const bound = await call<{ mxid: string; address: string }>(
      `${V1}/3pid/bind`,
      json({ sid: heidi.sid, client_secret: heidi.client_secret, mxid: `@heidi:${HS}` }),
    );
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    assert.equal((await v1Lookup('email', 'heidi@example.org')).mxid, `@heidi:${HS}`);
  });

  it("delivers frank's pending invite by onbind when he binds, signed as Sydent would have", async () => {
    const bound = await tessera(['directory', 'bind', 'email', 'frank@example.org', `@frank:${HS}`]);
    assertRan(bound, 'the admin bind');
    const onbind = await homeserver.waitForOnbind(
      (c) => (c.body as { address?: string }).address === 'frank@example.org',
      30_000,
    );
    const body = onbind.body as {
      invites: {
        token: string;
        sender: string;
        room_id: string;
        signed: { signatures: Record<string, Record<string, string>> };
      }[];
    };
    assert.equal(body.invites.length, 1);
    const [invite] = body.invites;
    assert.equal(invite?.token, facts.invites.frank?.token);
    assert.equal(invite?.sender, `@carol:${HS}`);
    assert.equal(invite?.room_id, `!bookclub:${HS}`);
    assert.equal(
      invite?.signed.signatures[SERVER]?.['ed25519:0'],
      'DPHTDN6eUWw0i1f7GVsZGkPzwJDlj5Y3LGOrvY/yFKAsTuAg5YthsTcOKFUQ7Fsl8nF/TPkKsDYRnl8OPPBuCA',
    );
    // Erin's invite was attempted by Sydent (its onbind failed): it is not delivered again.
    assert.equal(
      homeserver.onbindCalls.filter((c) => JSON.stringify(c.body).includes(facts.invites.erin?.token ?? '-')).length,
      0,
    );
  });

  it('says, in a dry run at a later clock, that the sessions are too old and what it leaves out', async () => {
    const dry = await tessera([...sampleArgs(), '--dry-run', '--now', String(facts.t_end + 2 * 24 * HOUR_MS)]);
    assertRan(dry, 'the dry run');
    const report = dry.out + dry.err;
    assert.match(report, /expired/i);
    assert.match(report, /old@example\.org|superseded|shadowed/i);
  });
});

describe('tessera import sydent: privacy', () => {
  it('leaves no address, Matrix user ID, token, client secret or private key of the sample in the stream', () => {
    const secrets = new Set<string>([
      ...LIVE.flatMap(({ address, mxid }) => [address, mxid]),
      'Ivy@Example.org',
      'Bob.Smith@Example.COM',
      'frank@example.org',
      ...Object.values(facts.tokens).flat(),
      ...Object.values(facts.invites).flatMap(({ token, ephemeral_private_key }) => [token, ephemeral_private_key]),
      ...facts.steps.flatMap(({ client_secret, validation_token }) => [client_secret ?? '', validation_token ?? '']),
      'grace-secret-1',
      'xavjYD80J0mU3FFFfpwDnK9QpSRS9RdQ',
      'nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y',
    ]);
    for (const value of secrets) if (typeof value !== 'string' || value === '') secrets.delete(value);
    assert.ok(secrets.size > 40, 'values worth looking for');
    const stream = natsStoreBytes(system);
    for (const value of secrets) assert.equal(stream.indexOf(value), -1, `found in the stream: ${value.slice(0, 12)}…`);
  });
});

describe('tessera import sydent: a database with mixed-case rows from before Sydent 2.4', () => {
  it('imports the newest binding per case-folded address and reports the rows it dropped', async () => {
    const db = join(files, 'mixed.db');
    copyFileSync(join(files, 'sydent.db'), db);
    const database = new sqlite.Database(db);
    const T = facts.t_end - 400 * 24 * HOUR_MS;
    const rows = [
      // id, address as stored before 2.4, mxid, ts
      [40, 'Mixed.Case@Example.org', `@mixed.old:${HS}`, T],
      [41, 'mixed.case@example.org', `@mixed.new:${HS}`, T + 1000],
      [42, 'upper.newer@example.org', `@upper.old:${HS}`, T],
      [43, 'Upper.Newer@Example.ORG', `@upper.new:${HS}`, T + 1000],
    ] as const;
    for (const [id, address, mxid, ts] of rows) {
      const notAfter = ts + 3_153_600_000_000;
      database.run(
        'INSERT INTO local_threepid_associations (id, medium, address, mxid, ts, notBefore, notAfter) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [id, 'email', address, mxid, ts, ts, notAfter],
      );
      const sgAssoc = JSON.stringify({
        medium: 'email',
        address,
        mxid,
        ts,
        not_before: ts,
        not_after: notAfter,
        signatures: { [SERVER]: { 'ed25519:0': 'c2lnbmVkIGJlZm9yZSBjYXNlIGZvbGRpbmc' } },
      });
      database.run(
        'INSERT INTO global_threepid_associations (medium, address, mxid, ts, notBefore, notAfter, originServer, originId, sgAssoc, lookup_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ['email', address, mxid, ts, ts, notAfter, SERVER, id, sgAssoc, lookupHash(address, 'email', facts.pepper)],
      );
    }
    database.close();

    const run = await tessera([...sampleArgs(db), '--stage', 'data', '--now', String(SAMPLE_NOW)]);
    assertRan(run, 'the mixed-case import');
    const report = run.out + run.err;
    assert.match(report, /@mixed\.old/, 'the dropped row is named');
    assert.match(report, /@upper\.old/, 'the dropped row is named');
    for (const [typed, mxid] of [
      ['mixed.case@example.org', `@mixed.new:${HS}`],
      ['MIXED.CASE@example.org', `@mixed.new:${HS}`],
      ['upper.newer@example.org', `@upper.new:${HS}`],
    ] as const) {
      const found = await v1Lookup('email', typed);
      assert.equal(found.mxid, mxid, typed);
      assert.equal(found.address, typed.toLowerCase(), 'signed over the folded address');
      assert.ok(
        verifyJsonSignature(found, { entity: SERVER, keyId: 'ed25519:0', publicKey: decodeBase64(PUBLIC_KEY) }),
      );
    }
    const { hashes, mappings } = await hashedLookup([{ medium: 'email', address: 'upper.newer@example.org' }]);
    assert.equal(mappings[hashes[0] as string], `@upper.new:${HS}`);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyPairFromSeed, verifyJsonSignature } from '@tessera/canonical-json';
import sqlite from 'node-sqlite3-wasm';
import { NOTES, planAssociations, REASONS } from '../src/sydent/plan-associations.js';
import { PlanReport } from '../src/sydent/plan-report.js';
import { openSydentSnapshot } from '../src/sydent/sydent-db.js';
import { SAMPLE_DB } from '../test-support/sydent-sample.js';
import { BENCH_SERVER, type Generated, generateSydentDb, newBenchSeed } from './sydent-db-generator.js';

const NOW = 1_800_000_000_000;

describe('a generated Sydent database with duplicates from before 2.4 (mixed case)', () => {
  let dir: string;
  let file: string;
  let generated: Generated;
  const seed = newBenchSeed();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-generated-'));
    file = join(dir, 'sydent.db');
    generated = generateSydentDb(file, {
      associations: 3_000,
      invites: 100,
      accounts: 100,
      sessions: 100,
      mixedCase: true,
      now: NOW,
      schemaFrom: SAMPLE_DB,
      signingSeed: seed,
    });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has Sydent’s schema, copied from the sample', () => {
    const schemaOf = (path: string) => {
      const db = new sqlite.Database(path, { readOnly: true });
      try {
        return db.all("SELECT type, name, sql FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY name");
      } finally {
        db.close();
      }
    };
    assert.deepEqual(schemaOf(file), schemaOf(SAMPLE_DB));
  });

  it("signs its own rows with the conf's key, as Sydent does, and not its peers' rows", () => {
    const db = new sqlite.Database(file, { readOnly: true });
    try {
      const publicKey = keyPairFromSeed(seed).publicKey;
      const rowOf = (origin: string) =>
        JSON.parse(
          (
            db.get('SELECT sgAssoc FROM global_threepid_associations WHERE originServer = ? LIMIT 1', [origin]) as {
              sgAssoc: string;
            }
          ).sgAssoc,
        ) as object;
      assert.equal(
        verifyJsonSignature(rowOf(BENCH_SERVER), { entity: BENCH_SERVER, keyId: 'ed25519:0', publicKey }),
        true,
      );
      const peer = (
        db.get('SELECT originServer FROM global_threepid_associations WHERE originServer <> ? LIMIT 1', [
          BENCH_SERVER,
        ]) as { originServer: string }
      ).originServer;
      assert.equal(verifyJsonSignature(rowOf(peer), { entity: peer, keyId: 'ed25519:0', publicKey }), false);
    } finally {
      db.close();
    }
  });

  it('imports the newest binding per folded address and reports every duplicate it dropped', () => {
    const snapshot = openSydentSnapshot(file);
    try {
      const report = new PlanReport();
      const planned = [...planAssociations(snapshot, { serverName: BENCH_SERVER, now: NOW, report })];
      assert.equal(planned.length, generated.expectedLive);
      assert.equal(generated.mixedCaseDuplicates, 60);
      assert.equal(report.leftOut.associations.count(REASONS.caseDuplicate), generated.mixedCaseDuplicates);
      const byAddress = new Map(planned.map(({ item }) => [item.association.address.toLowerCase(), item.association]));
      // Kind 13: the mixed-case row is newer, so it wins, re-signed over the folded address.
      assert.equal(byAddress.get('user13@bench.example')?.mxid, '@mixed13:hs.bench');
      assert.equal(byAddress.get('user13@bench.example')?.address, 'user13@bench.example');
      assert.equal(byAddress.get('user13@bench.example')?.signatures, undefined);
      // Kind 14: the folded row is newer and keeps its signature.
      assert.equal(byAddress.get('user14@bench.example')?.mxid, '@u14:hs.bench');
      assert.ok(byAddress.get('user14@bench.example')?.signatures?.[BENCH_SERVER]);
      assert.equal(report.notes.count(NOTES.refolded), generated.mixedCaseDuplicates / 2);
      assert.equal(
        report.notes.count(NOTES.hashMismatch),
        generated.mixedCaseDuplicates * 2,
        'local and global rows hashed unfolded',
      );
      assert.ok(!planned.some(({ item }) => item.association.mxid.startsWith('@old')), 'no stale row of a rebind');
    } finally {
      snapshot.close();
    }
  });
});

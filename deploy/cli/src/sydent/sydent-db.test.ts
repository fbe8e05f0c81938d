import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite from 'node-sqlite3-wasm';
import { SAMPLE_DB } from '../../test-support/sydent-sample.js';
import { openSydentSnapshot, SydentDbError } from './sydent-db.js';

describe('reading Sydent’s database as a snapshot', () => {
  let dir: string;
  let n = 0;
  const copy = async () => {
    const file = join(dir, `sydent-${n++}.db`);
    await copyFile(SAMPLE_DB, file);
    return file;
  };
  const write = (file: string, sql: string) => {
    const db = new sqlite.Database(file);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sydent-db-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the sample’s rows through one read transaction', () => {
    const snapshot = openSydentSnapshot(SAMPLE_DB);
    try {
      assert.equal([...snapshot.localAssociations()].length, 9);
      assert.equal([...snapshot.globalAssociations()].length, 13);
      assert.equal(snapshot.pepper(), 'nGwAB');
      assert.deepEqual(snapshot.peerNames(), ['peer.example.test']);
      assert.equal(snapshot.accountsWithoutTokens(), 0);
      assert.equal([...snapshot.sessions()].filter(({ token }) => token !== null).length, 9);
    } finally {
      snapshot.close();
    }
  });

  it('tolerates extra tables and columns (forks such as Tchap add some)', async () => {
    const file = await copy();
    write(file, 'CREATE TABLE dinsic_extra (x); ALTER TABLE invite_tokens ADD COLUMN dinsic_tag TEXT');
    const snapshot = openSydentSnapshot(file);
    assert.equal([...snapshot.invites()].length, 3);
    snapshot.close();
  });

  it('refuses an older schema, asking to let Sydent upgrade it first', async () => {
    const file = await copy();
    write(file, 'PRAGMA user_version = 4');
    assert.throws(() => openSydentSnapshot(file), /schema version 4.*let Sydent upgrade its database first/);
  });

  it('refuses a hot journal and a non-empty write-ahead log', async () => {
    const journaled = await copy();
    await writeFile(`${journaled}-journal`, 'unfinished');
    assert.throws(() => openSydentSnapshot(journaled), /-journal exists: a write is unfinished/);
    const logged = await copy();
    await writeFile(`${logged}-wal`, 'frames');
    assert.throws(() => openSydentSnapshot(logged), /-wal is not empty/);
  });

  it('reads a copy of its own: a killed run neither locks Sydent’s file nor leaves its copy behind', async () => {
    const file = await copy();
    // What an import killed while reading Sydent's file in place would have left: a lock folder.
    await mkdir(`${file}.lock`);
    // The copy of a killed run (its process is gone).
    const leftover = join(tmpdir(), 'tessera-sydent-snapshot-2147483646-left');
    await mkdir(leftover);
    const snapshot = openSydentSnapshot(file);
    assert.ok([...snapshot.localAssociations()].length > 0);
    assert.equal(existsSync(leftover), false, "the dead run's copy is removed");
    const ours = () =>
      readdirSync(tmpdir()).filter((name) => name.startsWith(`tessera-sydent-snapshot-${process.pid}-`));
    assert.equal(ours().length, 1);
    assert.equal(readdirSync(dir).filter((name) => name.endsWith('.lock')).length, 1, 'no lock of ours on it');
    // A writer meanwhile (Sydent's SQLite would not see the stale lock folder; this test's writer would).
    await rm(`${file}.lock`, { recursive: true });
    write(file, "INSERT INTO ephemeral_public_keys (public_key) VALUES ('k')");
    assert.throws(() => snapshot.close(), /changed while it was read/, 'but a write meanwhile is noticed');
    assert.deepEqual(ours(), [], 'the copy is removed on close');
  });

  it('notices a write that happened while it was reading (the header’s change counter moved)', async () => {
    const file = await copy();
    const snapshot = openSydentSnapshot(file);
    [...snapshot.localAssociations()];
    // What a writer that does not see our lock (another process's SQLite, another lock scheme) leaves behind.
    const handle = await open(file, 'r+');
    const counter = Buffer.alloc(4);
    await handle.read(counter, 0, 4, 24);
    counter.writeUInt32BE(counter.readUInt32BE(0) + 1);
    await handle.write(counter, 0, 4, 24);
    await handle.close();
    assert.throws(
      () => snapshot.close(),
      (err: Error) => err instanceof SydentDbError && /changed while it was read/.test(err.message),
    );
  });

  it('refuses a file that is not SQLite, or not Sydent’s', async () => {
    const text = join(dir, 'not.db');
    await writeFile(text, 'hello, this is not a database at all, not even close');
    assert.throws(() => openSydentSnapshot(text), /not an SQLite database/);
    const other = join(dir, 'other.db');
    write(other, 'PRAGMA user_version = 5; CREATE TABLE t (x)');
    assert.throws(() => openSydentSnapshot(other), /not a Sydent database/);
  });
});

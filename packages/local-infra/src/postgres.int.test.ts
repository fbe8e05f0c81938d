import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PostgresHandle, startPostgres } from './postgres.js';
import { postgresRunAs, prepareDataDir } from './postgres-user.js';
import { canConnect } from './probes.js';
import { psql } from './psql.js';

const quiet = () => {};

describe('startPostgres', () => {
  let parent: string;
  let pg: PostgresHandle | undefined;

  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'tessera-pg-int-'));
  });
  after(async () => {
    await pg?.stop();
    if (pg !== undefined) await rm(pg.dataDir, { recursive: true, force: true });
    await rm(parent, { recursive: true, force: true });
  });

  it('initialises a cluster, creates the tessera database and answers select 1', async () => {
    pg = await startPostgres({ dataDir: join(parent, 'cluster'), fsync: false, log: quiet });
    assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/tessera$/);
    assert.equal(await psql(pg.binDir, pg.url, 'select 1'), '1\n');
    assert.equal(await psql(pg.binDir, pg.url, 'select current_database()'), 'tessera\n');
  });

  it('listens on 127.0.0.1 only, on no Unix socket, with fsync and synchronous_commit off when fsync is false', async () => {
    assert.ok(pg);
    const settings = await psql(
      pg.binDir,
      pg.url,
      "select current_setting('listen_addresses'), current_setting('unix_socket_directories'), " +
        "current_setting('fsync'), current_setting('synchronous_commit')",
    );
    assert.equal(settings, '127.0.0.1||off|off\n');
  });

  it('keeps its data across a restart on the same data dir, without running initdb again', async () => {
    assert.ok(pg);
    await psql(pg.binDir, pg.url, "create table kept (v text); insert into kept values ('still here')");
    const { port, dataDir } = pg;
    await pg.stop();
    const lines: string[] = [];
    pg = await startPostgres({ dataDir: join(parent, 'cluster'), port, fsync: false, log: (l) => lines.push(l) });
    assert.equal(pg.dataDir, dataDir);
    assert.equal(
      lines.some((l) => l.includes('initdb')),
      false,
    );
    assert.equal(await psql(pg.binDir, pg.url, 'select v from kept'), 'still here\n');
  });

  it('runs with fsync and synchronous_commit on when fsync is not turned off (the runner)', async () => {
    assert.ok(pg);
    await pg.stop();
    pg = await startPostgres({ dataDir: join(parent, 'cluster'), log: quiet });
    const settings = await psql(
      pg.binDir,
      pg.url,
      "select current_setting('fsync'), current_setting('synchronous_commit')",
    );
    assert.equal(settings, 'on|on\n');
  });

  it('stops on stop(): the process has exited and the port is closed', async () => {
    assert.ok(pg);
    await pg.stop();
    assert.ok(pg.process.exitCode !== null || pg.process.signalCode !== null);
    assert.equal(await canConnect('127.0.0.1', pg.port), false);
  });
});

describe('the data dir of a cluster', () => {
  let parent: string;
  let chosen: string | undefined;

  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'tessera-pg-dir-'));
  });
  after(async () => {
    if (chosen !== undefined) await rm(chosen, { recursive: true, force: true });
    await rm(parent, { recursive: true, force: true });
  });

  it('moves under /var/tmp, owned by postgres, when the server user cannot enter the requested path', async () => {
    // A 0700 parent owned by us: only reachable by postgres if we are postgres's own user.
    const locked = join(parent, 'locked');
    await mkdir(locked, { mode: 0o700 });
    const requested = join(locked, 'pg');
    const runAs = await postgresRunAs();
    const lines: string[] = [];
    chosen = await prepareDataDir(requested, runAs, (l) => lines.push(l));
    if (runAs === null) {
      // Not root: the server runs as us and can use the requested path as it is.
      assert.equal(chosen, requested);
      return;
    }
    assert.match(chosen, /^\/var\/tmp\/tessera-pg-[0-9a-f]{16}$/);
    assert.equal((await stat(chosen)).uid, runAs.uid);
    assert.ok(lines.some((l) => l.includes(requested) && l.includes(chosen ?? '')));
    assert.equal(await prepareDataDir(requested, runAs, quiet), chosen, 'the same request finds the same dir');
  });
});

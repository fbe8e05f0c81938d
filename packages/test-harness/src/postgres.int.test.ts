import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { psql } from '@tessera/local-infra';
import { startPostgres, type TestPostgres } from './postgres.js';

describe('startPostgres', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.stop());

  it('gives a URL of a tessera database that answers select 1', async () => {
    assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/tessera$/);
    assert.equal(await psql(pg.server.binDir, pg.url, 'select 1'), '1\n');
  });

  it('runs with fsync off, as a throwaway cluster may', async () => {
    assert.equal(await psql(pg.server.binDir, pg.url, 'show fsync'), 'off\n');
  });

  it('stop() ends the server and removes the cluster, and may be called twice', async () => {
    await pg.stop();
    await pg.stop();
    assert.ok(pg.server.process.exitCode !== null || pg.server.process.signalCode !== null);
    assert.equal(existsSync(pg.dataDir), false);
  });
});

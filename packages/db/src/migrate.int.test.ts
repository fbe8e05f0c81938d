import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@tessera/config';
import { TemporarilyUnavailable } from '@tessera/errors';
import { freePort } from '@tessera/local-infra';
import { captureLogs } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import { silentLog, startPostgres, type TestPostgres } from '../test-support/fixtures.js';
import { MigrationFailed, migrateToLatest } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { openDatabase } from './open-database.js';
import type { Database } from './schema.js';
import { databaseSettingsOf } from './settings.js';

let pg: TestPostgres;
let db: Kysely<Database>;
before(async () => {
  pg = await startPostgres();
  db = await openDatabase({ url: pg.url, poolSize: 2 }, silentLog);
});
after(async () => {
  await db?.destroy();
  await pg?.stop();
});

const tableExists = async (table: string) =>
  (await sql<{ found: string | null }>`select to_regclass(${table}) as found`.execute(db)).rows[0]?.found !== null;

describe('migrations', () => {
  it('bring an empty database to the newest schema, and apply nothing the second time', async () => {
    const { log, lines } = captureLogs((out) => ({
      info: (obj: Record<string, unknown>, msg: string) => out.write(`${JSON.stringify({ ...obj, msg })}\n`),
      warn: () => {},
      error: () => {},
    }));
    assert.deepEqual(await migrateToLatest(db, log), { applied: Object.keys(MIGRATIONS) });
    assert.ok(await tableExists('projector_checkpoint'));
    assert.deepEqual(
      lines.filter((line) => line.msg === 'migration applied').map((line) => line.migration),
      Object.keys(MIGRATIONS),
    );
    assert.deepEqual(await migrateToLatest(db, log), { applied: [] });
  });

  it('stop at a failing migration, naming it, and keep nothing of the run', async () => {
    const migrations = {
      ...MIGRATIONS,
      '2099_01_01_0001_good': {
        up: (k: Kysely<Database>) => sql`create table good_one (id int)`.execute(k).then(() => {}),
      },
      '2099_01_01_0002_bad': {
        up: (k: Kysely<Database>) => sql`create table bad_one (id no_such_type)`.execute(k).then(() => {}),
      },
    };
    await assert.rejects(migrateToLatest(db, silentLog, migrations), (err: unknown) => {
      assert.ok(err instanceof MigrationFailed);
      assert.match(err.message, /^migration 2099_01_01_0002_bad failed: .*no_such_type/);
      return true;
    });
    assert.equal(await tableExists('good_one'), false, 'the migration before it is rolled back too');
  });
});

describe('opening the database', () => {
  it('reads int8 as a string, as the Database types say', async () => {
    await migrateToLatest(db, silentLog);
    await db
      .insertInto('projector_checkpoint')
      .values({ projection: 'int8', stream: 'S', last_seq: 2 ** 53 + 2 })
      .execute();
    const row = await db
      .selectFrom('projector_checkpoint')
      .select('last_seq')
      .where('projection', '=', 'int8')
      .executeTakeFirst();
    assert.equal(row?.last_seq, '9007199254740994');
  });

  it('answers temporarily unavailable when nothing listens (a start then fails, and is restarted)', async () => {
    const port = await freePort('127.0.0.1');
    await assert.rejects(
      openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/tessera`, poolSize: 1 }, silentLog),
      TemporarilyUnavailable,
    );
  });

  it('stops on a database the server does not have, naming TESSERA_DATABASE_URL without the password', async () => {
    const url = pg.url.replace('postgres://postgres@', 'postgres://postgres:secret@').replace(/\/[^/]+$/, '/missing');
    const error = await openDatabase({ url, poolSize: 1 }, silentLog).then(
      () => assert.fail('opened'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(
      error.message,
      /^TESSERA_DATABASE_URL: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/missing has no such database$/,
    );
  });

  it('takes its settings from TESSERA_DATABASE_URL and TESSERA_DATABASE_POOL_SIZE, naming a missing URL', () => {
    const url = 'postgres://tessera@db.example:5432/tessera';
    assert.deepEqual(databaseSettingsOf(loadConfig({ TESSERA_DATABASE_URL: url })), { url, poolSize: 10 });
    assert.deepEqual(databaseSettingsOf(loadConfig({ TESSERA_DATABASE_URL: url, TESSERA_DATABASE_POOL_SIZE: '25' })), {
      url,
      poolSize: 25,
    });
    assert.throws(() => loadConfig({ TESSERA_DATABASE_POOL_SIZE: '0' }), /TESSERA_DATABASE_POOL_SIZE/);
    assert.throws(
      () => databaseSettingsOf(loadConfig({}), 'by directory'),
      /^ConfigError: TESSERA_DATABASE_URL: required by directory$/,
    );
  });
});

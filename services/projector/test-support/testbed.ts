// The projection tests' set-up: a real PostgreSQL for the test file, a fresh provisioned
// nats-server for each test, the read model and checkpoint emptied before each, and the runners
// a test started stopped after it.
import { after, afterEach, before, beforeEach } from 'node:test';
import type { Database } from '@tessera/db';
import { connectNats, silentLogger } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import { type Kysely, sql } from 'kysely';
import type { NatsConnection } from 'nats';
import { ASSOCIATIONS_TABLES } from '../src/associations-projection.js';
import { type RunningAssociations, runAssociations } from '../src/projector.js';
import { type RebuildOutcome, rebuildAssociations } from '../src/rebuild.js';
import { TestDirectory } from './directory-appender.js';
import { migratedDatabase } from './fixtures.js';
import { TestInvites } from './invite-appender.js';

export type Testbed = {
  db: Kysely<Database>;
  /** This test's connection (no permissions: it appends as every service). */
  nc: NatsConnection;
  directory: TestDirectory;
  invites: TestInvites;
  /** Starts the projector's runner on this test's stream; it is stopped after the test. */
  run(options?: Pick<Parameters<typeof runAssociations>[0], 'batchSize' | 'keys'>): Promise<RunningAssociations>;
  /** Stops the runners this test started (as a dead projector would leave the tables). */
  stopRunners(): Promise<void>;
  /** `tessera projector rebuild` on this test's stream and database. */
  rebuild(): Promise<RebuildOutcome>;
  /** The stream's last sequence. */
  lastSeq(): Promise<number>;
};

/** Registers the hooks; the fields of what it answers are set by them (use them inside tests). */
export function projectorTestbed(): Testbed {
  let pg: TestPostgres;
  let nats: TestNats;
  const runners: RunningAssociations[] = [];
  const bed: Testbed = {
    db: undefined as unknown as Kysely<Database>,
    nc: undefined as unknown as NatsConnection,
    directory: undefined as unknown as TestDirectory,
    invites: undefined as unknown as TestInvites,
    async run(options = {}) {
      const runner = await runAssociations({ nc: bed.nc, db: bed.db, log: silentLogger, ...options });
      runners.push(runner);
      return runner;
    },
    async stopRunners() {
      for (const runner of runners.splice(0)) await runner.stop();
    },
    rebuild: () => rebuildAssociations({ nc: bed.nc, database: { url: pg.url, poolSize: 2 }, log: silentLogger }),
    lastSeq: async () => (await (await bed.nc.jetstreamManager()).streams.info('TESSERA_EVENTS')).state.last_seq,
  };
  before(async () => {
    pg = await startPostgres();
    bed.db = await migratedDatabase(pg);
  });
  after(async () => {
    await bed.db?.destroy();
    await pg?.stop();
  });
  beforeEach(async () => {
    nats = await startNats();
    bed.nc = await connectNats({ url: nats.url, name: 'projector-test' });
    await provision(bed.nc);
    bed.directory = await TestDirectory.on(bed.nc);
    bed.invites = await TestInvites.on(bed.nc);
    await sql`truncate ${sql.join(ASSOCIATIONS_TABLES.map((t) => sql.table(t)))}, projector_checkpoint`.execute(bed.db);
  });
  afterEach(async () => {
    await bed.stopRunners();
    await bed.nc.close();
    await nats.stop();
  });
  return bed;
}

// The directory service on a real nats-server and PostgreSQL, with the stand-in projector, session
// and signing, and its admin API on; for the integration tests (each file starts its own).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelCredentials } from '@grpc/grpc-js';
import { type Config, loadConfig } from '@tessera/config';
import { type Database, migrateToLatest, openDatabase } from '@tessera/db';
import { connectNats, DataKeys, openDataKeySource, silentLogger } from '@tessera/event-store';
import { createFederationClient, createKeyring, createXMatrixVerifier } from '@tessera/federation-client';
import { provision } from '@tessera/nats-access';
import { DirectoryServiceClient } from '@tessera/proto/tessera/directory/v1/directory';
import { createDeadlineClient, createLogger, createMetrics, type DeadlineClient } from '@tessera/service-kit';
import {
  type FakeHomeserver,
  startFakeHomeserver,
  startNats,
  startPostgres,
  type TestNats,
  type TestPostgres,
} from '@tessera/test-harness';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { type DirectoryServer, loadDirectorySettings, startDirectoryServer } from '../src/directory-server.js';
import { type StandInProjector, startStandInProjector } from './stand-in-projector.js';
import { SERVER_NAME, type StandIns, startStandIns } from './stand-ins.js';

export type DirectoryTestbedOptions = {
  now: () => number;
  maxAddresses: number;
  graceMs: number;
};

export interface DirectoryTestbed {
  nats: TestNats;
  nc: NatsConnection;
  pg: TestPostgres;
  db: Kysely<Database>;
  dataKeys: DataKeys;
  projector: StandInProjector;
  standIns: StandIns;
  homeserver: FakeHomeserver;
  secretKey: Buffer;
  adminToken: string;
  config: Config;
  server: DirectoryServer;
  directory: DeadlineClient<DirectoryServiceClient>;
  /** POSTs `body` to the admin API (with the token unless `token` says otherwise); the status and JSON answer. */
  admin(path: string, body: string, token?: string | null): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startDirectoryTestbed({
  now,
  maxAddresses,
  graceMs,
}: DirectoryTestbedOptions): Promise<DirectoryTestbed> {
  const log = createLogger('directory', (process.env.TEST_LOG_LEVEL as 'fatal') ?? 'fatal');
  const bed = {} as DirectoryTestbed;
  const dir = await mkdtemp(join(tmpdir(), 'tessera-directory-int-'));
  bed.stop = async () => {
    bed.directory?.close();
    await bed.server?.stop(1_000);
    await bed.projector?.stop();
    await bed.standIns?.stop();
    await bed.homeserver?.close();
    await bed.db?.destroy();
    await bed.pg?.stop();
    await bed.nc?.drain();
    await bed.nats?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    bed.nats = await startNats();
    bed.nc = await connectNats({ url: bed.nats.url, name: 'directory-int-test' });
    await provision(bed.nc);
    bed.pg = await startPostgres();
    bed.db = await openDatabase({ url: bed.pg.url, poolSize: 5 }, silentLogger);
    await migrateToLatest(bed.db, silentLogger);
    bed.dataKeys = new DataKeys(await openDataKeySource(bed.nc), { cacheTtlMs: 0 });
    bed.projector = await startStandInProjector(bed.nc, bed.db, bed.dataKeys);
    bed.standIns = await startStandIns();
    bed.homeserver = await startFakeHomeserver();
    bed.secretKey = randomBytes(32);
    bed.adminToken = randomBytes(24).toString('base64url');
    const secretFile = join(dir, 'server.key');
    await writeFile(secretFile, `${bed.secretKey.toString('base64')}\n`);
    const tokenFile = join(dir, 'admin.token');
    await writeFile(tokenFile, `${bed.adminToken}\n`);
    bed.config = loadConfig({
      TESSERA_SERVER_NAME: SERVER_NAME,
      TESSERA_GRPC_LISTEN: '127.0.0.1:0',
      TESSERA_NATS_URL: bed.nats.url,
      TESSERA_DATABASE_URL: bed.pg.url,
      TESSERA_SECRET_KEY_FILE: secretFile,
      TESSERA_SESSION_ADDR: bed.standIns.target,
      TESSERA_SIGNING_ADDR: bed.standIns.target,
      TESSERA_LOOKUP_MAX_ADDRESSES: String(maxAddresses),
      TESSERA_PEPPER_GRACE_MS: String(graceMs),
      TESSERA_PEPPER_ROTATE_INTERVAL_MS: '0',
      TESSERA_BIND_VISIBLE_WAIT_MS: '3000',
      TESSERA_DIRECTORY_ADMIN_LISTEN: '127.0.0.1:0',
      TESSERA_DIRECTORY_ADMIN_TOKEN_FILE: tokenFile,
    });
    const client = createFederationClient({ allowCidrs: ['127.0.0.0/8'], verifyTls: true, ca: bed.homeserver.caPem });
    bed.server = await startDirectoryServer({
      config: bed.config,
      log,
      nc: bed.nc,
      db: bed.db,
      settings: loadDirectorySettings(bed.config),
      metrics: createMetrics('directory'),
      tls: null,
      addReadiness: () => {},
      now,
      verifier: createXMatrixVerifier({
        serverName: SERVER_NAME,
        keyring: createKeyring({ fetchServerKeys: client.getServerKeys, now }),
      }),
      pepperCheckEveryMs: 3_600_000, // ticks are driven by the tests
    });
    bed.directory = createDeadlineClient(
      DirectoryServiceClient,
      `127.0.0.1:${bed.server.port}`,
      ChannelCredentials.createInsecure(),
      20_000,
    );
    bed.admin = (path, body, token = bed.adminToken) =>
      fetch(`http://127.0.0.1:${bed.server.admin?.port}${path}`, {
        method: 'POST',
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        body,
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const deadline = Date.now() + 30_000;
    while ((await bed.directory.hashDetails({}).catch(() => null)) === null) {
      if (Date.now() > deadline) throw new Error('timed out waiting until the first pepper is offered');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return bed;
  } catch (err) {
    await bed.stop();
    throw err;
  }
}

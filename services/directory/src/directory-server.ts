import type { Config } from '@tessera/config';
import type { Database } from '@tessera/db';
import { ASSOCIATIONS_PROJECTION, type ProjectionWait, watchProjection, watchTables } from '@tessera/db';
import { passingErrorsOn } from '@tessera/errors';
import { DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import {
  createFederationClient,
  createKeyring,
  createXMatrixVerifier,
  type XMatrixVerifier,
} from '@tessera/federation-client';
import { DirectoryServiceService } from '@tessera/proto/tessera/directory/v1/directory';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { createSecrets, readServerSecret, type Secrets } from '@tessera/server-secret';
import {
  adminTokenOf,
  channelCredentials,
  createDeadlineClient,
  grpcTarget,
  parseHostPort,
  type RunningGrpcServer,
  type ServiceContext,
  serveGrpc,
} from '@tessera/service-kit';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { type AdminServer, startDirectoryAdmin } from './admin/admin-server.js';
import { type Binder, createBinder, type SignAssociations } from './binder.js';
import { DIRECTORY_SERVICE_NAME, directoryService } from './grpc/directory-service.js';
import { type Peppers, startPeppers } from './peppers.js';
import { readModelOf } from './read-model.js';

/** What the service reads from files at start; a bad file stops it before anything opens. */
export type DirectorySettings = { secrets: Secrets; adminToken: string | null };

/**
 * TESSERA_SECRET_KEY_FILE (required), and the admin API's token file: required when
 * TESSERA_DIRECTORY_ADMIN_LISTEN is not a loopback address. Throws ConfigError naming the key.
 */
export function loadDirectorySettings(config: Config): DirectorySettings {
  const secrets = createSecrets(readServerSecret(config.TESSERA_SECRET_KEY_FILE));
  const adminToken = adminTokenOf(
    { setting: 'TESSERA_DIRECTORY_ADMIN_LISTEN', value: config.TESSERA_DIRECTORY_ADMIN_LISTEN },
    { setting: 'TESSERA_DIRECTORY_ADMIN_TOKEN_FILE', value: config.TESSERA_DIRECTORY_ADMIN_TOKEN_FILE },
  );
  return { secrets, adminToken };
}

export type DirectoryServerOptions = Pick<
  ServiceContext<DirectorySettings, NatsConnection, Kysely<Database>>,
  'config' | 'log' | 'nc' | 'db' | 'settings' | 'metrics' | 'tls' | 'addReadiness'
> & {
  /** Default: real time. */
  now?: () => number;
  /** Default: the federation client, guarded by TESSERA_OUTBOUND_ALLOW and TESSERA_OUTBOUND_VERIFY_TLS. */
  verifier?: XMatrixVerifier;
  /** How often rotation and retirement are considered (tests); default: PeppersOptions'. */
  pepperCheckEveryMs?: number;
};

export interface DirectoryServer {
  port: number;
  grpc: RunningGrpcServer;
  /** The admin API, when TESSERA_DIRECTORY_ADMIN_LISTEN is set. */
  admin: AdminServer | null;
  binder: Binder;
  peppers: Peppers;
  projected: ProjectionWait;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Serves DirectoryService on TESSERA_GRPC_LISTEN to TESSERA_DIRECTORY_ALLOWED_CLIENTS, and the
 * admin API on TESSERA_DIRECTORY_ADMIN_LISTEN when set. Calls session (GetValidated3pid) and
 * signing (SignJson, SignJsonBatch) over mutual TLS.
 */
export async function startDirectoryServer(options: DirectoryServerOptions): Promise<DirectoryServer> {
  const { config, log, nc, db, metrics, tls } = options;
  const { secrets } = options.settings;
  const now = options.now ?? Date.now;
  const deadlineMs = config.TESSERA_GRPC_DEADLINE_MS;
  const credentials = channelCredentials(tls);
  const signing = createDeadlineClient(SigningServiceClient, grpcTarget(config, 'signing'), credentials, deadlineMs, {
    serviceName: 'signing',
  });
  const session = createDeadlineClient(SessionServiceClient, grpcTarget(config, 'session'), credentials, deadlineMs, {
    serviceName: 'session',
  });
  const closers: (() => unknown)[] = [() => signing.close(), () => session.close()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const readModel = readModelOf(db);
    const tables = watchTables(readModel.tablesExist);
    closers.push(tables.close);
    options.addReadiness(tables);

    const projected = await watchProjection({
      db,
      url: config.TESSERA_DATABASE_URL as string,
      projection: ASSOCIATIONS_PROJECTION,
      log,
    });
    closers.push(() => projected.close());
    const store = new EventStore(nc);
    const peppers = await startPeppers({
      store,
      readModel,
      now,
      rotateIntervalMs: config.TESSERA_PEPPER_ROTATE_INTERVAL_MS,
      graceMs: config.TESSERA_PEPPER_GRACE_MS,
      ...(options.pepperCheckEveryMs === undefined ? {} : { checkEveryMs: options.pepperCheckEveryMs }),
      log,
    });
    closers.push(() => peppers.close());
    const refreshPeppers = () =>
      peppers.refresh().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot read the peppers'));
    projected.onAdvance(refreshPeppers);
    // The projector may have applied the first pepper after startPeppers read them and before the
    // line above listened: without this read, such a replica offered no pepper until the next batch
    // (a test's directory, whose clock ticks hourly, waited in vain under a loaded machine).
    await refreshPeppers();

    const sign: SignAssociations = async (associations) => {
      const json = associations.map((association) => JSON.stringify(association));
      return (await passingErrorsOn(() => signing.signJsonBatch({ json, keyId: '' }), 'signing')).json;
    };
    const binder = createBinder({
      store,
      dataKeys: new DataKeys(await openDataKeySource(nc)),
      secrets,
      sign,
      projected,
      visibleWaitMs: config.TESSERA_BIND_VISIBLE_WAIT_MS,
      now,
      log,
    });
    const verifier =
      options.verifier ??
      (() => {
        const client = createFederationClient({
          allowCidrs: config.TESSERA_OUTBOUND_ALLOW,
          verifyTls: config.TESSERA_OUTBOUND_VERIFY_TLS,
        });
        return createXMatrixVerifier({
          serverName: config.TESSERA_SERVER_NAME,
          keyring: createKeyring({ fetchServerKeys: client.getServerKeys, now }),
        });
      })();

    const grpc = await serveGrpc('directory', {
      config,
      services: [
        {
          name: DIRECTORY_SERVICE_NAME,
          definition: DirectoryServiceService,
          implementation: directoryService(
            {
              binder,
              readModel,
              peppers,
              secrets,
              session,
              verifier,
              maxAddresses: config.TESSERA_LOOKUP_MAX_ADDRESSES,
              now,
            },
            { log, metrics },
          ),
        },
      ],
      tls,
      log,
      metrics,
    });
    const admin =
      config.TESSERA_DIRECTORY_ADMIN_LISTEN === undefined
        ? null
        : await startDirectoryAdmin({
            listen: parseHostPort(config.TESSERA_DIRECTORY_ADMIN_LISTEN),
            token: options.settings.adminToken,
            binder,
            peppers,
            log,
          }).catch(async (err: unknown) => {
            await grpc.stop();
            throw err;
          });
    log.info(
      { port: grpc.port, adminPort: admin?.port ?? null, maxAddresses: config.TESSERA_LOOKUP_MAX_ADDRESSES },
      'directory service ready',
    );
    return {
      port: grpc.port,
      grpc,
      admin,
      binder,
      peppers,
      projected,
      stop: async (graceMs) => {
        await admin?.close();
        await grpc.stop(graceMs);
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

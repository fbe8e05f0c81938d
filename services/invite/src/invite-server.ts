import { ASSOCIATIONS_PROJECTION, type Database, watchProjection, watchTables } from '@tessera/db';
import { DataKeys, EventStore, openDataKeySource, type RunningConsumer } from '@tessera/event-store';
import { InviteServiceService } from '@tessera/proto/tessera/invite/v1/invite';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import {
  type AdminApi,
  channelCredentials,
  createClock,
  createDeadlineClient,
  grpcTarget,
  parseHostPort,
  type RunningGrpcServer,
  reportConsumerLag,
  type ServiceContext,
  serveGrpc,
} from '@tessera/service-kit';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { startInviteAdmin } from './admin/invite-admin.js';
import { runBindingsConsumer } from './bindings/bindings-consumer.js';
import { INVITE_SERVICE_NAME, inviteService } from './grpc/invite-service.js';
import { createInviteImports } from './imports/invite-imports.js';
import { createInvites, type Invites } from './invites.js';
import { createInviteCounters, reportOldestPendingOnbind } from './metrics.js';
import { readModelOf } from './read-model.js';
import type { InviteSettings } from './settings.js';
import { signingOf } from './signing.js';

export type InviteServerOptions = Pick<
  ServiceContext<InviteSettings, NatsConnection, Kysely<Database>>,
  'config' | 'log' | 'nc' | 'db' | 'settings' | 'metrics' | 'tls' | 'addReadiness'
> & {
  /** Default: real time plus TESSERA_CLOCK_OFFSET_FILE (tests of a running system). */
  now?: () => number;
  /** The bindings consumer's durable (tests); default `invite-bindings`. */
  durable?: string;
};

export interface InviteServer {
  port: number;
  grpc: RunningGrpcServer;
  /** The admin API, when TESSERA_INVITE_ADMIN_LISTEN is set. */
  admin: AdminApi | null;
  invites: Invites;
  bindings: RunningConsumer;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Serves InviteService on TESSERA_GRPC_LISTEN to TESSERA_INVITE_ALLOWED_CLIENTS, consumes new
 * bindings (onbind requests), and serves the admin API on TESSERA_INVITE_ADMIN_LISTEN when set.
 * Calls signing over mutual TLS.
 */
export async function startInviteServer(options: InviteServerOptions): Promise<InviteServer> {
  const { config, log, nc, db, metrics, tls } = options;
  const now =
    options.now ??
    (() => {
      const clock = createClock(config.TESSERA_CLOCK_OFFSET_FILE, log);
      return () => clock().getTime();
    })();
  const client = createDeadlineClient(
    SigningServiceClient,
    grpcTarget(config, 'signing'),
    channelCredentials(tls),
    config.TESSERA_GRPC_DEADLINE_MS,
    { serviceName: 'signing' },
  );
  const closers: (() => unknown)[] = [() => client.close()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const readModel = readModelOf(db);
    const tables = watchTables(readModel.tablesExist);
    closers.push(tables.close);
    const projected = await watchProjection({
      db,
      url: config.TESSERA_DATABASE_URL as string,
      projection: ASSOCIATIONS_PROJECTION,
      log,
    });
    closers.push(() => projected.close());
    const store = new EventStore(nc);
    const dataKeys = new DataKeys(await openDataKeySource(nc));
    const signing = signingOf(client, now);
    reportOldestPendingOnbind(metrics, readModel.oldestRequestedOnbind, now);
    const invites = createInvites({
      store,
      dataKeys,
      secrets: options.settings.secrets,
      signing,
      readModel,
      projected,
      visibleWaitMs: config.TESSERA_BIND_VISIBLE_WAIT_MS,
      blocklists: {
        rooms: config.TESSERA_INVITE_BLOCKED_ROOMS,
        servers: config.TESSERA_INVITE_BLOCKED_SERVERS,
        keywords: config.TESSERA_INVITE_BLOCKED_KEYWORDS,
      },
      expiryMs: config.TESSERA_INVITE_EXPIRY_MS,
      publicBaseUrl: config.TESSERA_PUBLIC_BASE_URL,
      now,
      counters: createInviteCounters(metrics),
      log,
    });

    const bindings = await runBindingsConsumer(
      nc,
      {
        store,
        dataKeys,
        signing,
        readModel,
        projected,
        projectionWaitMs: config.TESSERA_BIND_VISIBLE_WAIT_MS,
        maxAgeMs: config.TESSERA_ONBIND_MAX_AGE_MS,
        now,
        log,
      },
      options.durable,
    );
    closers.push(() => bindings.stop());
    void bindings.done.finally(reportConsumerLag(metrics, bindings));
    options.addReadiness(tables, { name: 'bindings consumer', isReady: bindings.attached });

    const grpc = await serveGrpc('invite', {
      config,
      services: [
        {
          name: INVITE_SERVICE_NAME,
          definition: InviteServiceService,
          implementation: inviteService({ invites, readModel, now }, { log, metrics }),
        },
      ],
      tls,
      log,
      metrics,
    });
    const admin =
      config.TESSERA_INVITE_ADMIN_LISTEN === undefined
        ? null
        : await startInviteAdmin({
            listen: parseHostPort(config.TESSERA_INVITE_ADMIN_LISTEN),
            token: options.settings.adminToken,
            invites,
            imports: createInviteImports({
              store,
              dataKeys,
              secrets: options.settings.secrets,
              signing,
              projected,
              importedEphemeralKeys: readModel.importedEphemeralKeys,
              visibleWaitMs: config.TESSERA_BIND_VISIBLE_WAIT_MS,
              expiryMs: config.TESSERA_INVITE_EXPIRY_MS,
              now,
              log,
            }),
            log,
          }).catch(async (err: unknown) => {
            await grpc.stop();
            throw err;
          });
    log.info({ port: grpc.port, adminPort: admin?.port ?? null }, 'invite service ready');
    return {
      port: grpc.port,
      grpc,
      admin,
      invites,
      bindings,
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

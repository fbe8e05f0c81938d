import type { Config } from '@tessera/config';
import { DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { createFederationClient } from '@tessera/federation-client';
import { SessionServiceService } from '@tessera/proto/tessera/session/v1/session';
import { createSecrets, readServerSecret, type Secrets } from '@tessera/server-secret';
import {
  type AdminApi,
  adminTokenOf,
  type Clock,
  createClock,
  parseHostPort,
  type RunningGrpcServer,
  type ServiceContext,
  serveGrpc,
} from '@tessera/service-kit';
import type { NatsConnection } from 'nats';
import { accountImporter } from './admin/import-accounts.js';
import { sessionImporter } from './admin/import-sessions.js';
import { termsImporter } from './admin/import-terms.js';
import { startSessionAdmin } from './admin/session-admin.js';
import { watchAggregates } from './aggregate-cache.js';
import { everySubjectOf } from './aggregates.js';
import { deliveryWatcher } from './delivery-wait.js';
import type { Terms } from './domain/terms.js';
import type { AccountUser, OpenIdVerifier } from './grpc/account-handlers.js';
import { SESSION_SERVICE_NAME, sessionService } from './grpc/session-service.js';
import { readTermsFile, type TermsDocument } from './terms-file.js';

/** What the service reads from files at start; a bad file stops it before anything opens. */
export type SessionSettings = { secrets: Secrets; terms: TermsDocument; adminToken: string | null };

/**
 * TESSERA_SECRET_KEY_FILE (required), TESSERA_TERMS_FILE (optional), and the admin API's token
 * file, required when TESSERA_SESSION_ADMIN_LISTEN is not a loopback address. Throws ConfigError
 * naming the key.
 */
export function loadSessionSettings(config: Config): SessionSettings {
  return {
    secrets: createSecrets(readServerSecret(config.TESSERA_SECRET_KEY_FILE)),
    terms: readTermsFile(config.TESSERA_TERMS_FILE),
    adminToken: adminTokenOf(
      { setting: 'TESSERA_SESSION_ADMIN_LISTEN', value: config.TESSERA_SESSION_ADMIN_LISTEN },
      { setting: 'TESSERA_SESSION_ADMIN_TOKEN_FILE', value: config.TESSERA_SESSION_ADMIN_TOKEN_FILE },
    ),
  };
}

/**
 * What the service skeleton gives it (service-kit's ServiceContext): `nc` connected, with the
 * streams checked; `tls` null (tests of something else) serves plaintext and checks no caller.
 */
export type SessionServerOptions = Pick<
  ServiceContext<SessionSettings, NatsConnection>,
  'config' | 'log' | 'nc' | 'settings' | 'metrics' | 'tls'
> & {
  /** Default: real time plus TESSERA_CLOCK_OFFSET_FILE. */
  now?: Clock;
  /** Default: the federation client, guarded by TESSERA_OUTBOUND_ALLOW and TESSERA_OUTBOUND_VERIFY_TLS. */
  openId?: OpenIdVerifier;
};

export interface SessionServer {
  port: number;
  grpc: RunningGrpcServer;
  /** The admin API (imports), when TESSERA_SESSION_ADMIN_LISTEN is set. */
  admin: AdminApi | null;
  /** Stops accepting calls and lets calls in flight finish (up to graceMs). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Serves SessionService and the gRPC health service on TESSERA_GRPC_LISTEN (port 0 picks a free
 * port) to the callers of TESSERA_SESSION_ALLOWED_CLIENTS, and the admin API on
 * TESSERA_SESSION_ADMIN_LISTEN when set.
 */
export async function startSessionServer(options: SessionServerOptions): Promise<SessionServer> {
  const { config, log, nc, metrics, tls } = options;
  const { secrets, terms } = options.settings;
  const store = new EventStore(nc);
  const watchDelivery = deliveryWatcher(nc, store);
  const accountStates = await watchAggregates<AccountUser | null>(nc, everySubjectOf('account'));
  const termsStates = await watchAggregates<Terms>(nc, everySubjectOf('terms'));
  const closeWatches = () => {
    watchDelivery.close();
    accountStates.close();
    termsStates.close();
  };
  const deps = {
    store,
    dataKeys: new DataKeys(await openDataKeySource(nc)),
    secrets,
    now: options.now ?? createClock(config.TESSERA_CLOCK_OFFSET_FILE, log),
    watchDelivery,
    accountStates,
    termsStates,
    deliveryWaitMs: config.TESSERA_DELIVERY_WAIT_MS,
    maxFailures: config.TESSERA_TOKEN_MAX_FAILURES,
    openId:
      options.openId ??
      createFederationClient({
        allowCidrs: config.TESSERA_OUTBOUND_ALLOW,
        verifyTls: config.TESSERA_OUTBOUND_VERIFY_TLS,
      }),
    homeserverAllow: config.TESSERA_HOMESERVER_ALLOW,
    terms,
    log,
  };
  const grpc = await serveGrpc('session', {
    config,
    services: [
      {
        name: SESSION_SERVICE_NAME,
        definition: SessionServiceService,
        implementation: sessionService(deps, { log, metrics }),
      },
    ],
    tls,
    log,
    metrics,
  }).catch((err: unknown) => {
    closeWatches();
    throw err;
  });
  const admin =
    config.TESSERA_SESSION_ADMIN_LISTEN === undefined
      ? null
      : await startSessionAdmin({
          listen: parseHostPort(config.TESSERA_SESSION_ADMIN_LISTEN),
          token: options.settings.adminToken,
          importers: {
            accounts: accountImporter(deps),
            terms: termsImporter(deps),
            sessions: sessionImporter(deps),
          },
          log,
        }).catch(async (err: unknown) => {
          await grpc.stop();
          closeWatches();
          throw err;
        });
  log.info(
    {
      port: grpc.port,
      adminPort: admin?.port ?? null,
      policies: terms.policies.map(({ id, version }) => ({ id, version })),
      deliveryWaitMs: deps.deliveryWaitMs,
      maxFailures: deps.maxFailures,
      homeserverAllow: deps.homeserverAllow,
    },
    'session service ready',
  );
  return {
    port: grpc.port,
    grpc,
    admin,
    stop: async (graceMs) => {
      await admin?.close();
      await grpc.stop(graceMs);
      closeWatches();
    },
  };
}

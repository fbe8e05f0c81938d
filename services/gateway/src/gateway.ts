import type { Config } from '@tessera/config';
import { DirectoryServiceClient } from '@tessera/proto/tessera/directory/v1/directory';
import { InviteServiceClient } from '@tessera/proto/tessera/invite/v1/invite';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import {
  channelCredentials,
  createDeadlineClient,
  grpcTarget,
  type ReadinessCheck,
  type ServiceContext,
} from '@tessera/service-kit';
import { followKeys } from '@tessera/signing-keys';
import { loadTemplatesFromConfig, type Templates } from '@tessera/templates';
import type { NatsConnection } from 'nats';
import { createApp } from './app.js';
import { authenticatorOf, sessionTokenCheck } from './auth.js';
import { clientIpResolver } from './client-ip.js';
import { coalescedLookups } from './directory-lookups.js';
import { listen, type RunningHttpServer } from './http-server.js';
import { sessionCallers } from './known-users.js';
import { publicKeysOf } from './public-keys/public-keys.js';
import { unknownKeys } from './public-keys/unknown-keys.js';
import { readRateLimitSecret, startRateLimits } from './rate-limits.js';
import { gatewayReadiness } from './readiness.js';
import { directoryRoutes } from './routes/directory-routes.js';
import { inviteRoutes } from './routes/invite-routes.js';
import { pubkeyRoutes } from './routes/pubkey.js';
import { sessionRoutes } from './routes/session-routes.js';
import { statusRoutes } from './routes/status.js';
import { watchTokenChecks } from './token-checks.js';

/** What the gateway reads at start: a missing or broken file stops it before anything opens. */
export interface GatewaySettings {
  /** The brands' templates (GET submitToken's page). */
  pages: Templates;
  /** The key of the rate-limit counters' digests (TESSERA_SECRET_KEY_FILE), when limits are on. */
  rateLimitSecret: Uint8Array | undefined;
}

export async function readGatewaySettings(config: Config): Promise<GatewaySettings> {
  return { pages: loadTemplatesFromConfig(config), rateLimitSecret: await readRateLimitSecret(config) };
}

/**
 * What the service skeleton gives it (service-kit's ServiceContext): `nc` (signing's key events,
 * and the rate limits while they are on), `tls` for its calls to the backends (null: plaintext,
 * development only).
 */
export type GatewayOptions = Pick<
  ServiceContext<GatewaySettings, NatsConnection>,
  'config' | 'log' | 'metrics' | 'tls' | 'nc' | 'settings'
>;

export interface RunningGateway {
  http: RunningHttpServer;
  /** Its backends and its copy of the signing keys, for /readyz on the admin port. */
  readiness: readonly ReadinessCheck[];
  /** Stops accepting, lets requests in flight finish, then closes its backend clients. */
  close(): Promise<void>;
}

/** The gateway with its backend clients, listening on TESSERA_HTTP_HOST:TESSERA_HTTP_PORT (0: any free port). */
export async function startGateway({
  config,
  log,
  metrics,
  tls,
  nc,
  settings,
}: GatewayOptions): Promise<RunningGateway> {
  const deadlineMs = config.TESSERA_GRPC_DEADLINE_MS;
  const keys = await followKeys(nc, { log, timeoutMs: deadlineMs });
  const gate = await startRateLimits(config, nc, settings.rateLimitSecret, log).catch((err: unknown) => {
    keys.close();
    throw err;
  });
  // Session's answers to Authenticate, dropped by account and terms events (token-checks.ts).
  const tokenChecks = await watchTokenChecks(nc, { log }).catch((err: unknown) => {
    keys.close();
    throw err;
  });
  const credentials = channelCredentials(tls);
  const signing = createDeadlineClient(SigningServiceClient, grpcTarget(config, 'signing'), credentials, deadlineMs, {
    serviceName: 'signing',
  });
  const session = createDeadlineClient(SessionServiceClient, grpcTarget(config, 'session'), credentials, deadlineMs, {
    serviceName: 'session',
  });
  const directory = createDeadlineClient(
    DirectoryServiceClient,
    grpcTarget(config, 'directory'),
    credentials,
    deadlineMs,
    { serviceName: 'directory' },
  );
  const invite = createDeadlineClient(InviteServiceClient, grpcTarget(config, 'invite'), credentials, deadlineMs, {
    serviceName: 'invite',
  });
  const auth = authenticatorOf(tokenChecks.cached(sessionTokenCheck(session)));
  const readiness = gatewayReadiness(config, credentials, log);
  const clientIpOf = clientIpResolver(config.TESSERA_TRUSTED_PROXIES);

  const app = createApp({
    routes: [
      ...statusRoutes(),
      ...pubkeyRoutes(publicKeysOf(keys.book, unknownKeys(signing))),
      ...sessionRoutes({
        session,
        ...sessionCallers(session),
        clientIpOf,
        gate,
        // RequestToken answers once the notifier reports the mail or SMS sent or refused.
        requestTokenDeadlineMs: config.TESSERA_DELIVERY_WAIT_MS + deadlineMs,
        pages: settings.pages,
        log,
      }),
      ...directoryRoutes({ directory, lookups: coalescedLookups(directory), auth }),
      ...inviteRoutes({ invite, auth, gate, clientIpOf }),
    ],
    maxBodyBytes: config.TESSERA_HTTP_MAX_BODY_BYTES,
    log,
    registry: metrics.registry,
    accessLog: config.TESSERA_ACCESS_LOG === 'on',
  });
  const closeClients = () => {
    keys.close();
    tokenChecks.close();
    readiness.close();
    signing.close();
    session.close();
    directory.close();
    invite.close();
  };
  const http = await listen(app, config.TESSERA_HTTP_HOST, config.TESSERA_HTTP_PORT, log).catch((err: unknown) => {
    closeClients();
    throw err;
  });
  log.info({ host: config.TESSERA_HTTP_HOST, port: http.port }, 'gateway listening');
  return {
    http,
    readiness: [...readiness.checks, keys.readiness],
    close: async () => {
      await http.close();
      closeClients();
    },
  };
}

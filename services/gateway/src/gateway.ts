import { type Config, ConfigError } from '@tessera/config';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { channelCredentials, createDeadlineClient, grpcTarget, type Logger, readTlsFiles } from '@tessera/service-kit';
import { createTemplates, type Templates, TemplatesUnusable } from '@tessera/templates';
import type { Registry } from 'prom-client';
import { createApp } from './app.js';
import { clientIpResolver } from './client-ip.js';
import { listen, type RunningHttpServer } from './http-server.js';
import { sessionCallers } from './known-users.js';
import { startRateLimits } from './rate-limits.js';
import { type GatewayReadiness, gatewayReadiness } from './readiness.js';
import { pubkeyRoutes } from './routes/pubkey.js';
import { sessionRoutes } from './routes/session-routes.js';
import { statusRoutes } from './routes/status.js';

export interface RunningGateway {
  http: RunningHttpServer;
  /** What /readyz on the admin port answers. */
  readiness: GatewayReadiness;
  close(): Promise<void>;
}

/** The gateway with its backend clients, listening on TESSERA_HTTP_HOST:TESSERA_HTTP_PORT (0: any free port). */
export async function startGateway(config: Config, log: Logger, registry: Registry): Promise<RunningGateway> {
  const credentials = channelCredentials(readTlsFiles(config));
  const deadlineMs = config.TESSERA_GRPC_DEADLINE_MS;
  const signing = createDeadlineClient(SigningServiceClient, grpcTarget(config, 'signing'), credentials, deadlineMs, {
    serviceName: 'signing',
  });
  const session = createDeadlineClient(SessionServiceClient, grpcTarget(config, 'session'), credentials, deadlineMs, {
    serviceName: 'session',
  });
  const pages = loadTemplates(config);
  const rateLimits = await startRateLimits(config, log).catch((err: unknown) => {
    signing.close();
    session.close();
    throw err;
  });
  const readiness = gatewayReadiness(config, credentials, log, rateLimits.readiness);

  const app = createApp({
    routes: [
      ...statusRoutes(),
      ...pubkeyRoutes(signing),
      ...sessionRoutes({
        session,
        ...sessionCallers(session),
        clientIpOf: clientIpResolver(config.TESSERA_TRUSTED_PROXIES),
        gate: rateLimits.gate,
        // RequestToken answers once the notifier reports the mail or SMS sent or refused.
        requestTokenDeadlineMs: config.TESSERA_DELIVERY_WAIT_MS + deadlineMs,
        pages,
        log,
      }),
    ],
    maxBodyBytes: config.TESSERA_HTTP_MAX_BODY_BYTES,
    log,
    registry,
    accessLog: config.TESSERA_ACCESS_LOG === 'on',
  });
  const http = await listen(app, config.TESSERA_HTTP_HOST, config.TESSERA_HTTP_PORT, log).catch(
    async (err: unknown) => {
      readiness.close();
      await rateLimits.close();
      signing.close();
      session.close();
      throw err;
    },
  );
  log.info({ host: config.TESSERA_HTTP_HOST, port: http.port }, 'gateway listening');
  return {
    http,
    readiness,
    close: async () => {
      readiness.close();
      await http.close();
      await rateLimits.close();
      signing.close();
      session.close();
    },
  };
}

/** The brands' templates (GET submitToken's page); a missing or broken template stops the start. */
function loadTemplates(config: Config): Templates {
  try {
    return createTemplates({ dir: config.TESSERA_TEMPLATES_DIR, defaultBrand: config.TESSERA_DEFAULT_BRAND });
  } catch (err) {
    if (err instanceof TemplatesUnusable) throw new ConfigError(`TESSERA_TEMPLATES_DIR: ${err.message}`);
    throw err;
  }
}

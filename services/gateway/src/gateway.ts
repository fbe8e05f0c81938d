import type { Config } from '@tessera/config';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { channelCredentials, createDeadlineClient, grpcTarget, type Logger, readTlsFiles } from '@tessera/service-kit';
import type { Registry } from 'prom-client';
import { createApp } from './app.js';
import { listen, type RunningHttpServer } from './http-server.js';
import { pubkeyRoutes } from './routes/pubkey.js';
import { statusRoutes } from './routes/status.js';

export interface RunningGateway {
  http: RunningHttpServer;
  close(): Promise<void>;
}

/** The gateway with its backend clients, listening on TESSERA_HTTP_HOST:TESSERA_HTTP_PORT (0: any free port). */
export async function startGateway(config: Config, log: Logger, registry: Registry): Promise<RunningGateway> {
  const credentials = channelCredentials(readTlsFiles(config));
  const deadlineMs = config.TESSERA_GRPC_DEADLINE_MS;
  const signing = createDeadlineClient(SigningServiceClient, grpcTarget(config, 'signing'), credentials, deadlineMs, {
    serviceName: 'signing',
  });

  const app = createApp({
    routes: [...statusRoutes(), ...pubkeyRoutes(signing)],
    maxBodyBytes: config.TESSERA_HTTP_MAX_BODY_BYTES,
    log,
    registry,
  });
  const http = await listen(app, config.TESSERA_HTTP_HOST, config.TESSERA_HTTP_PORT);
  log.info({ host: config.TESSERA_HTTP_HOST, port: http.port }, 'gateway listening');
  return {
    http,
    close: async () => {
      await http.close();
      signing.close();
    },
  };
}

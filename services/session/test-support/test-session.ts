// A session server for this package's integration tests, and a client of it; not used by the service.
import { ChannelCredentials } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { createDeadlineClient, createMetrics, type DeadlineClient, type Logger } from '@tessera/service-kit';
import type { NatsConnection } from 'nats';
import { loadSessionSettings, type SessionServer, startSessionServer } from '../src/session-server.js';

export type TestSession = {
  server: SessionServer;
  client: DeadlineClient<SessionServiceClient>;
  /** Closes the client, then stops the server. */
  stop(): Promise<void>;
};

/**
 * A session server without TLS (these tests are about what it answers), with the settings of
 * `config`, and a plaintext client of it.
 */
export async function startTestSession(options: {
  config: Config;
  nc: NatsConnection;
  log: Logger;
}): Promise<TestSession> {
  const server = await startSessionServer({
    ...options,
    settings: loadSessionSettings(options.config),
    metrics: createMetrics('session'),
    tls: null,
  });
  const client = createDeadlineClient(
    SessionServiceClient,
    `127.0.0.1:${server.port}`,
    ChannelCredentials.createInsecure(),
    10_000,
  );
  return {
    server,
    client,
    async stop() {
      client.close();
      await server.stop(1_000);
    },
  };
}

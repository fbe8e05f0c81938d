import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@tessera/service-kit';
import { answerNodeRefusalsWithJson } from './client-errors.js';

export interface RunningHttpServer {
  server: Server;
  port: number;
  /** Stops accepting, lets requests in flight finish (up to graceMs), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(
  app: RequestListener,
  host: string,
  port: number,
  log: Logger,
): Promise<RunningHttpServer> {
  // Without Host, the app answers the 400 itself (refuseMalformedRequests): with a JSON body.
  const server = createServer({ requireHostHeader: false }, app);
  answerNodeRefusalsWithJson(server, log);
  // Bounded waits for slow clients, so that a trickled request cannot hold a socket for minutes.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 5_000) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

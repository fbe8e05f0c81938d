import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HostPort } from './addresses.js';
import type { ReadinessReport } from './readiness.js';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Prometheus metrics on /metrics, liveness on /healthz and readiness on /readyz, on a port of its
 * own. /readyz answers 200 or 503 with the report: `{"status":"not ready","failing":["nats"]}`, and
 * `states` when a check tells what it is doing (`{"projector":"standby"}`).
 */
export async function startAdminServer(
  listen: HostPort,
  registry: Registry,
  readiness: () => ReadinessReport,
): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.method === 'GET' && path === '/readyz') {
      const { ready, failing, states } = readiness();
      const body = { status: ready ? 'ready' : 'not ready', failing, ...(states && { states }) };
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

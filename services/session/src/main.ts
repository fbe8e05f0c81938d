import { connectAs, natsAccessOf } from '@tessera/nats-access';
import {
  createMetrics,
  metricsListenAddress,
  onShutdown,
  requireTlsFiles,
  runService,
  startAdminServer,
} from '@tessera/service-kit';
import { loadSessionSettings, startSessionServer } from './session-server.js';

runService('session', async ({ config, log }) => {
  // Every file is read, and every setting checked, before anything opens.
  const nats = natsAccessOf(config, 'session');
  const settings = loadSessionSettings(config);
  const tls = requireTlsFiles(config, 'session');

  const metrics = createMetrics('session');
  let ready = false;
  const admin = await startAdminServer(metricsListenAddress(config, 'session'), metrics.registry, () => ready);
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  const nc = await connectAs(nats, log);
  const server = await startSessionServer({ config, log, nc, settings, metrics, tls });
  ready = true;

  onShutdown(log, [
    { name: 'gRPC server', run: () => server.stop() },
    { name: 'NATS', run: () => nc.drain() },
    { name: 'admin server', run: () => admin.close() },
  ]);
});

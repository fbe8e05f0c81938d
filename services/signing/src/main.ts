import { EventStore } from '@tessera/event-store';
import { connectAs, natsAccessOf } from '@tessera/nats-access';
import {
  createMetrics,
  metricsListenAddress,
  onShutdown,
  requireTlsFiles,
  runService,
  startAdminServer,
} from '@tessera/service-kit';
import { keyFilePath, openKeyStore } from './key-store.js';
import { startSigningServer } from './signing-server.js';

runService('signing', async ({ config, log }) => {
  const tls = requireTlsFiles(config, 'signing');
  const nats = natsAccessOf(config, 'signing');
  const keyStore = await openKeyStore(keyFilePath(config), log);

  const metrics = createMetrics('signing');
  let ready = false;
  const admin = await startAdminServer(metricsListenAddress(config, 'signing'), metrics.registry, () => ready);
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  const nc = await connectAs(nats, log);
  const server = await startSigningServer({ config, log, keyStore, eventStore: new EventStore(nc), metrics, tls });
  ready = true;

  onShutdown(log, [
    { name: 'gRPC server', run: () => server.stop() },
    { name: 'NATS', run: () => nc.drain() },
    { name: 'admin server', run: () => admin.close() },
  ]);
});

import { hostname } from 'node:os';
import { type Config, ConfigError } from '@tessera/config';
import { connectNats, EventStore, ensureStreams } from '@tessera/event-store';
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
  const natsUrl = requireNatsUrl(config);
  const keyStore = await openKeyStore(keyFilePath(config), log);

  const metrics = createMetrics('signing');
  let ready = false;
  const admin = await startAdminServer(metricsListenAddress(config, 'signing'), metrics.registry, () => ready);
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  const nc = await connectNats({ url: natsUrl, name: `tessera-signing@${hostname()}`, log });
  await ensureStreams(await nc.jetstreamManager());
  const server = await startSigningServer({ config, log, keyStore, eventStore: new EventStore(nc), metrics, tls });
  ready = true;

  onShutdown(log, [
    { name: 'gRPC server', run: () => server.stop() },
    { name: 'NATS', run: () => nc.drain() },
    { name: 'admin server', run: () => admin.close() },
  ]);
});

function requireNatsUrl(config: Config): string {
  if (config.TESSERA_NATS_URL === undefined)
    throw new ConfigError('TESSERA_NATS_URL: required by the signing service (it publishes its public keys)');
  return config.TESSERA_NATS_URL;
}

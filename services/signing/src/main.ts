import { type Config, ConfigError } from '@tessera/config';
import { EventStore } from '@tessera/event-store';
import { connectAs, natsAccessOf } from '@tessera/nats-access';
import {
  createMetrics,
  metricsListenAddress,
  onShutdown,
  readTlsFiles,
  runService,
  startAdminServer,
  type TlsFiles,
} from '@tessera/service-kit';
import { keyFilePath, openKeyStore } from './key-store.js';
import { startSigningServer } from './signing-server.js';

const TLS_SETTINGS = 'TESSERA_TLS_CA_FILE, TESSERA_TLS_CERT_FILE, TESSERA_TLS_KEY_FILE';

runService('signing', async ({ config, log }) => {
  const tls = requireTls(config);
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

/** The signing service never runs without mTLS: its allow-list is made of client certificate names. */
function requireTls(config: Config): TlsFiles {
  const tls = readTlsFiles(config);
  if (tls === null)
    throw new ConfigError(`${TLS_SETTINGS}: required by the signing service, which only serves mutual TLS`);
  return tls;
}

import { hostname } from 'node:os';
import { type Config, ConfigError } from '@tessera/config';
import { connectNats, ensureStreams } from '@tessera/event-store';
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
  const natsUrl = requireNatsUrl(config);
  const settings = loadSessionSettings(config);
  const tls = requireTlsFiles(config, 'session');

  const metrics = createMetrics('session');
  let ready = false;
  const admin = await startAdminServer(metricsListenAddress(config, 'session'), metrics.registry, () => ready);
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  const nc = await connectNats({ url: natsUrl, name: `tessera-session@${hostname()}`, log });
  await ensureStreams(await nc.jetstreamManager());
  const server = await startSessionServer({ config, log, nc, settings, metrics, tls });
  ready = true;

  onShutdown(log, [
    { name: 'gRPC server', run: () => server.stop() },
    { name: 'NATS', run: () => nc.drain() },
    { name: 'admin server', run: () => admin.close() },
  ]);
});

function requireNatsUrl(config: Config): string {
  if (config.TESSERA_NATS_URL === undefined)
    throw new ConfigError('TESSERA_NATS_URL: required by the session service (its sessions live in the stream)');
  return config.TESSERA_NATS_URL;
}

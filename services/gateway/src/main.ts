import { createMetrics, metricsListenAddress, onShutdown, runService, startAdminServer } from '@tessera/service-kit';
import { startGateway } from './gateway.js';

runService('gateway', async ({ config, log }) => {
  const { registry } = createMetrics('gateway');
  const admin = await startAdminServer(metricsListenAddress(config, 'gateway'), registry, () => true);
  // The shutdown steps are registered in the same turn as "gateway listening" is logged, so a
  // SIGTERM sent on seeing that line always finds them.
  const gateway = await startGateway(config, log, registry);
  onShutdown(log, [
    { name: 'http', run: () => gateway.close() },
    { name: 'admin', run: () => admin.close() },
  ]);
});

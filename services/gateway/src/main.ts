import { createMetrics, metricsListenAddress, onShutdown, runService, startAdminServer } from '@tessera/service-kit';
import { startGateway } from './gateway.js';

runService('gateway', async ({ config, log }) => {
  const { registry } = createMetrics('gateway');
  const gateway = await startGateway(config, log, registry);
  const admin = await startAdminServer(metricsListenAddress(config, 'gateway'), registry, () => true);
  onShutdown(log, [
    { name: 'http', run: () => gateway.close() },
    { name: 'admin', run: () => admin.close() },
  ]);
});

import {
  createMetrics,
  metricsListenAddress,
  notStarted,
  onShutdown,
  type ReadinessReport,
  runService,
  startAdminServer,
} from '@tessera/service-kit';
import { startGateway } from './gateway.js';

runService('gateway', async ({ config, log }) => {
  const { registry } = createMetrics('gateway');
  let readiness: () => ReadinessReport = notStarted;
  const admin = await startAdminServer(metricsListenAddress(config, 'gateway'), registry, () => readiness());
  // The shutdown steps are registered in the same turn as "gateway listening" is logged, so a
  // SIGTERM sent on seeing that line always finds them.
  const gateway = await startGateway(config, log, registry);
  readiness = gateway.readiness.report;
  onShutdown(log, [
    { name: 'http', run: () => gateway.close() },
    { name: 'admin', run: () => admin.close() },
  ]);
});

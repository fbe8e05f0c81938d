import {
  createMetrics,
  metricsListenAddress,
  notStarted,
  onShutdown,
  type ReadinessReport,
  runService,
  startAdminServer,
} from '@tessera/service-kit';
import { type RunningGateway, startGateway } from './gateway.js';

runService('gateway', async ({ config, log }) => {
  const { registry } = createMetrics('gateway');
  let readiness: () => ReadinessReport = notStarted;
  const admin = await startAdminServer(metricsListenAddress(config, 'gateway'), registry, () => readiness());
  // The signal handlers are in place before "gateway listening" is logged: a SIGTERM sent on seeing
  // that line must find them (until a process asks for a signal, the kernel's default kills it, even
  // in the instant between writing a line and the next statement).
  let gateway: RunningGateway | undefined;
  onShutdown(log, [
    { name: 'http', run: async () => gateway?.close() },
    { name: 'admin', run: () => admin.close() },
  ]);
  gateway = await startGateway(config, log, registry);
  readiness = gateway.readiness.report;
});

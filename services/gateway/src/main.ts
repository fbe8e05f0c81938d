import { runService } from '@tessera/service-kit';
import { readGatewaySettings, startGateway } from './gateway.js';
import { rateLimitsNeedNats } from './rate-limits.js';

runService('gateway', {
  nats: rateLimitsNeedNats,
  settings: readGatewaySettings,
  start: async ({ addReadiness, ...context }) => {
    const gateway = await startGateway(context);
    addReadiness(...gateway.readiness);
    return { name: 'HTTP server', run: () => gateway.close() };
  },
});

import { runService } from '@tessera/service-kit';
import { readGatewaySettings, startGateway } from './gateway.js';

runService('gateway', {
  nats: true, // signing's key events (pubkey, isvalid) always; the rate limits while they are on
  settings: readGatewaySettings,
  start: async ({ addReadiness, ...context }) => {
    const gateway = await startGateway(context);
    addReadiness(...gateway.readiness);
    return { name: 'HTTP server', run: () => gateway.close() };
  },
});

import { runService } from '@tessera/service-kit';
import { loadSessionSettings, startSessionServer } from './session-server.js';

runService('session', {
  nats: true,
  servesGrpc: true,
  settings: loadSessionSettings,
  start: async (context) => {
    const server = await startSessionServer(context);
    return { name: 'gRPC server', run: () => server.stop() };
  },
});

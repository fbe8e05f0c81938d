import { runService } from '@tessera/service-kit';
import { loadInviteSettings, startInviteServer } from './invite-server.js';

runService('invite', {
  nats: true,
  database: true,
  servesGrpc: true,
  settings: loadInviteSettings,
  start: async (context) => {
    const server = await startInviteServer(context);
    return { name: 'gRPC and admin servers, bindings consumer', run: () => server.stop() };
  },
});

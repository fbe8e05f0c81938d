import { runService } from '@tessera/service-kit';
import { startInviteServer } from './invite-server.js';
import { loadInviteSettings } from './settings.js';

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

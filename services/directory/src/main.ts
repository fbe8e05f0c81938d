import { runService } from '@tessera/service-kit';
import { loadDirectorySettings, startDirectoryServer } from './directory-server.js';

runService('directory', {
  nats: true,
  database: true,
  servesGrpc: true,
  settings: loadDirectorySettings,
  start: async (context) => {
    const server = await startDirectoryServer(context);
    return { name: 'gRPC and admin servers', run: () => server.stop() };
  },
});

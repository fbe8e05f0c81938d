import { EventStore } from '@tessera/event-store';
import { runService } from '@tessera/service-kit';
import { keyFilePath, openKeyStore } from './key-store.js';
import { startSigningServer } from './signing-server.js';

runService('signing', {
  nats: true,
  servesGrpc: true,
  // Checked after the TLS files: without them it must not create a key.
  settings: (config, log) => openKeyStore(keyFilePath(config), log),
  start: async ({ config, log, metrics, tls, nc, settings: keyStore }) => {
    const server = await startSigningServer({ config, log, metrics, tls, keyStore, eventStore: new EventStore(nc) });
    return { name: 'gRPC server', run: () => server.stop() };
  },
});

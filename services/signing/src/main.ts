import { runService } from '@tessera/service-kit';
import { keyFilePath, openKeyStore } from './key-store.js';
import { startSigningServer } from './signing-server.js';

runService('signing', {
  nats: true,
  servesGrpc: true,
  // Checked after the TLS files: without them it must not create a key.
  settings: (config, log) => openKeyStore(keyFilePath(config), log),
  start: async ({ config, log, metrics, tls, nc, settings: keyStore, addReadiness }) => {
    const server = await startSigningServer({ config, log, metrics, tls, keyStore, nc });
    addReadiness(...server.readiness);
    return { name: 'gRPC server', run: () => server.stop() };
  },
});

import type { EventStore } from '@tessera/event-store';
import { SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import { type Metrics, type RunningGrpcServer, type ServiceContext, serveGrpc } from '@tessera/service-kit';
import { SIGNING_SERVICE_NAME, signingService } from './grpc/signing-service.js';
import { type KeyRing, keyRing } from './key-ring.js';
import type { KeyStore } from './key-store.js';
import { createSigningCounters } from './metrics.js';
import { publishKeys } from './publish-keys.js';

/** What the service skeleton gives it (service-kit's ServiceContext), and its key store. */
export type SigningServerOptions = Pick<ServiceContext, 'config' | 'log' | 'metrics' | 'tls'> & {
  keyStore: KeyStore;
  /** With a store, each key is published on `tessera.key.<keyId>` first; revoked keys are then not valid. */
  eventStore?: EventStore;
  now?: () => Date;
};

export interface SigningServer {
  port: number;
  grpc: RunningGrpcServer;
  keys: KeyRing;
  metrics: Metrics;
  /** Stops accepting calls and lets calls in flight finish (up to graceMs). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Publishes the keys (when given an event store), then serves SigningService and the gRPC health
 * service on TESSERA_GRPC_LISTEN (port 0 in tests picks a free port) to the callers of
 * TESSERA_SIGNING_ALLOWED_CLIENTS.
 */
export async function startSigningServer(options: SigningServerOptions): Promise<SigningServer> {
  const { config, log, metrics, tls, keyStore, eventStore, now = () => new Date() } = options;

  const validIds = eventStore === undefined ? undefined : await publishKeys({ eventStore, keyStore, now, log });
  const keys = keyRing(keyStore, validIds);
  const implementation = signingService(
    { serverName: config.TESSERA_SERVER_NAME, keys, counters: createSigningCounters(metrics) },
    { log, metrics },
  );
  const grpc = await serveGrpc('signing', {
    config,
    services: [{ name: SIGNING_SERVICE_NAME, definition: SigningServiceService, implementation }],
    tls,
    log,
    metrics,
  });
  log.info(
    {
      currentKeyId: keys.current.keyId,
      keys: keys.entries.map(({ key, valid }) => ({ keyId: key.keyId, publicKey: key.publicKeyBase64, valid })),
    },
    'signing service ready',
  );
  return { port: grpc.port, grpc, keys, metrics, stop: (graceMs) => grpc.stop(graceMs) };
}

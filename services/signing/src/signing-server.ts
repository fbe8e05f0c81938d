import type { Config } from '@tessera/config';
import type { EventStore } from '@tessera/event-store';
import { SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import {
  allowedClientsOf,
  createMetrics,
  grpcListenAddress,
  type Logger,
  type Metrics,
  type RunningGrpcServer,
  readTlsFiles,
  startGrpcServer,
  type TlsFiles,
} from '@tessera/service-kit';
import { SIGNING_SERVICE_NAME, signingService } from './grpc/signing-service.js';
import { type KeyRing, keyRing } from './key-ring.js';
import type { KeyStore } from './key-store.js';
import { createSigningCounters } from './metrics.js';
import { publishKeys } from './publish-keys.js';

export interface SigningServerOptions {
  config: Config;
  log: Logger;
  keyStore: KeyStore;
  /** With a store, each key is published on `tessera.key.<keyId>` first; revoked keys are then not valid. */
  eventStore?: EventStore;
  metrics?: Metrics;
  /** Default: the TESSERA_TLS_* files of the configuration. */
  tls?: TlsFiles | null;
  now?: () => Date;
}

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
 * service on TESSERA_GRPC_LISTEN (port 0 in tests picks a free port).
 */
export async function startSigningServer(options: SigningServerOptions): Promise<SigningServer> {
  const { config, log, keyStore, eventStore, now = () => new Date() } = options;
  const metrics = options.metrics ?? createMetrics('signing');
  const tls = options.tls === undefined ? readTlsFiles(config) : options.tls;

  const validIds = eventStore === undefined ? undefined : await publishKeys({ eventStore, keyStore, now, log });
  const keys = keyRing(keyStore, validIds);
  const implementation = signingService(
    { serverName: config.TESSERA_SERVER_NAME, keys, counters: createSigningCounters(metrics) },
    { log, metrics },
  );
  const allowedClients = allowedClientsOf(config, 'signing');
  const grpc = await startGrpcServer({
    listen: grpcListenAddress(config, 'signing'),
    services: [{ name: SIGNING_SERVICE_NAME, definition: SigningServiceService, implementation }],
    tls,
    allowedClients,
    log,
    metrics,
  });
  log.info(
    {
      currentKeyId: keys.current.keyId,
      keys: keys.entries.map(({ key, valid }) => ({ keyId: key.keyId, publicKey: key.publicKeyBase64, valid })),
      allowedClients,
    },
    'signing service ready',
  );
  return { port: grpc.port, grpc, keys, metrics, stop: (graceMs) => grpc.stop(graceMs) };
}

import { EventStore } from '@tessera/event-store';
import { SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import {
  type Metrics,
  type ReadinessCheck,
  type RunningGrpcServer,
  type ServiceContext,
  serveGrpc,
} from '@tessera/service-kit';
import type { NatsConnection } from 'nats';
import { type FollowedRevocations, followRevocations } from './follow-revocations.js';
import { SIGNING_SERVICE_NAME, signingService } from './grpc/signing-service.js';
import { type KeyRing, keyRing } from './key-ring.js';
import type { KeyStore } from './key-store.js';
import { createSigningCounters } from './metrics.js';
import { publishKeys } from './publish-keys.js';

/** What the service skeleton gives it (service-kit's ServiceContext), and its key store. */
export type SigningServerOptions = Pick<ServiceContext, 'config' | 'log' | 'metrics' | 'tls'> & {
  keyStore: KeyStore;
  /**
   * With NATS, each key is published on `tessera.key.<keyId>` first, and its revocation followed
   * while the service runs; a revoked key is not valid. Without, every key of the store is.
   */
  nc?: NatsConnection;
  now?: () => Date;
};

export interface SigningServer {
  port: number;
  grpc: RunningGrpcServer;
  keys: KeyRing;
  metrics: Metrics;
  /** For /readyz (none without NATS): the keys read since the last reconnect, and a valid key left. */
  readiness: ReadinessCheck[];
  /** Stops accepting calls and lets calls in flight finish (up to graceMs). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Publishes the keys and follows their revocations (when given NATS), then serves SigningService and the gRPC health
 * service on TESSERA_GRPC_LISTEN (port 0 in tests picks a free port) to the callers of
 * TESSERA_SIGNING_ALLOWED_CLIENTS.
 */
export async function startSigningServer(options: SigningServerOptions): Promise<SigningServer> {
  const { config, log, metrics, tls, keyStore, nc, now = () => new Date() } = options;

  const validIds =
    nc === undefined ? undefined : await publishKeys({ eventStore: new EventStore(nc), keyStore, now, log });
  const keys = keyRing(keyStore, validIds);
  const followed: FollowedRevocations | undefined =
    nc === undefined
      ? undefined
      : await followRevocations(nc, { ring: keys, log, timeoutMs: config.TESSERA_GRPC_DEADLINE_MS });
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
  }).catch((err: unknown) => {
    followed?.close();
    throw err;
  });
  log.info(
    {
      currentKeyId: keys.current?.keyId,
      keys: keys.entries.map(({ key, valid }) => ({ keyId: key.keyId, publicKey: key.publicKeyBase64, valid })),
    },
    'signing service ready',
  );
  return {
    port: grpc.port,
    grpc,
    keys,
    metrics,
    readiness: followed?.readiness ?? [],
    async stop(graceMs) {
      await grpc.stop(graceMs);
      followed?.close();
    },
  };
}

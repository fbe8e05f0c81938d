import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import {
  type BackendHealth,
  grpcTarget,
  type Logger,
  type ReadinessCheck,
  type ReadinessReport,
  readinessOf,
  watchBackendHealth,
} from '@tessera/service-kit';

/** The backends every request path of the gateway needs, by the gRPC service it calls on each. */
const BACKENDS = {
  signing: 'tessera.signing.v1.SigningService',
  session: 'tessera.session.v1.SessionService',
} as const;

export interface GatewayReadiness {
  /** What /readyz answers: ready while every check passes, else the names of those that fail. */
  report(): ReadinessReport;
  close(): void;
}

/**
 * The gateway's readiness as a list of named checks: one per backend (its gRPC health, asked in
 * the background with a short deadline), then `more` (the rate limits' NATS connection, when
 * they are on: requestToken cannot be counted without it).
 */
export function gatewayReadiness(
  config: Config,
  credentials: ChannelCredentials,
  log: Logger,
  more: readonly ReadinessCheck[] = [],
): GatewayReadiness {
  const backends: BackendHealth[] = Object.entries(BACKENDS).map(([name, service]) =>
    watchBackendHealth({
      name,
      target: grpcTarget(config, name as keyof typeof BACKENDS),
      credentials,
      service,
      log,
    }),
  );
  const report = readinessOf([...backends, ...more]);
  return {
    report,
    close: () => {
      for (const backend of backends) backend.close();
    },
  };
}

import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import {
  type BackendHealth,
  grpcTarget,
  type Logger,
  type ReadinessCheck,
  watchBackendHealth,
} from '@tessera/service-kit';

/** The backends every request path of the gateway needs, by the gRPC service it calls on each. */
const BACKENDS = {
  signing: 'tessera.signing.v1.SigningService',
  session: 'tessera.session.v1.SessionService',
  directory: 'tessera.directory.v1.DirectoryService',
  invite: 'tessera.invite.v1.InviteService',
} as const;

export interface GatewayReadiness {
  /** One check per backend, for /readyz on the admin port (the service skeleton adds NATS). */
  checks: readonly ReadinessCheck[];
  close(): void;
}

/**
 * The gateway's backends as named readiness checks, one per backend: its gRPC health, asked in
 * the background with a short deadline.
 */
export function gatewayReadiness(config: Config, credentials: ChannelCredentials, log: Logger): GatewayReadiness {
  const backends: BackendHealth[] = Object.entries(BACKENDS).map(([name, service]) =>
    watchBackendHealth({
      name,
      target: grpcTarget(config, name as keyof typeof BACKENDS),
      credentials,
      service,
      log,
    }),
  );
  return {
    checks: backends,
    close: () => {
      for (const backend of backends) backend.close();
    },
  };
}

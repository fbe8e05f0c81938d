import type { ChannelCredentials } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tessera/proto/grpc/health/v1/health';
import { createDeadlineClient } from './grpc-client.js';
import type { Logger } from './logger.js';
import type { ReadinessCheck } from './readiness.js';

export interface BackendHealthOptions {
  /** The check's name in /readyz, and the certificate name the backend's server certificate holds. */
  name: string;
  /** host:port */
  target: string;
  credentials: ChannelCredentials;
  /** The full name of the gRPC service needed, e.g. "tessera.signing.v1.SigningService". */
  service: string;
  log: Logger;
  /** Time between two checks. Default 1 s. */
  intervalMs?: number;
  /** Deadline of one check: a backend slower than this counts as down. Default 500 ms. */
  deadlineMs?: number;
}

export interface BackendHealth extends ReadinessCheck {
  close(): void;
}

/**
 * Whether a backend answers its standard gRPC health check with SERVING, asked in the background
 * every `intervalMs` with a short deadline and kept, so /readyz costs the backend nothing. Down
 * until the first check says otherwise; a change either way is logged once.
 */
export function watchBackendHealth(options: BackendHealthOptions): BackendHealth {
  const { name, service, log, intervalMs = 1_000, deadlineMs = 500 } = options;
  const client = createDeadlineClient(HealthClient, options.target, options.credentials, deadlineMs, {
    serviceName: name,
  });
  let serving = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    let problem: string | null = null;
    try {
      const { status } = await client.check({ service });
      if (status !== HealthCheckResponse_ServingStatus.SERVING)
        problem = HealthCheckResponse_ServingStatus[status] ?? 'unknown status';
    } catch (err) {
      problem = (err as { details?: string }).details ?? (err as Error).message;
    }
    if (closed) return;
    if (problem === null && !serving) log.info({ backend: name }, 'backend serving');
    if (problem !== null && serving) log.warn({ backend: name, problem }, 'backend not serving');
    serving = problem === null;
    timer = setTimeout(() => void check(), intervalMs);
    timer.unref();
  };
  void check();

  return {
    name,
    isReady: () => serving,
    close() {
      closed = true;
      clearTimeout(timer);
      client.close();
    },
  };
}

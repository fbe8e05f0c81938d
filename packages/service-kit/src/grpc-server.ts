import type { AddressInfo } from 'node:net';
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import { HealthService } from '@tessera/proto/grpc/health/v1/health';
import { type GrpcServiceName, grpcListenAddress, type HostPort } from './addresses.js';
import { allowedClientsOf } from './allowed-clients.js';
import { callerCheck } from './caller-check.js';
import { HealthRegistry, ServingStatus } from './health.js';
import { createLogThrottle } from './log-throttle.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { serverCredentials, type TlsFiles } from './tls.js';

export interface GrpcServiceBinding {
  /** Full protobuf name, e.g. "tessera.signing.v1.SigningService": the name health checks use. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface RunningGrpcServer {
  port: number;
  health: HealthRegistry;
  /** Stops accepting calls, lets calls in flight finish (up to graceMs), then closes. */
  stop(graceMs?: number): Promise<void>;
}

export interface GrpcServerOptions {
  listen: HostPort;
  services: GrpcServiceBinding[];
  /** Mutual TLS; null serves plaintext to anyone (tests of something else only: no caller is checked). */
  tls: TlsFiles | null;
  /**
   * Certificate names (CN or DNS SAN) that may call `services`: a TESSERA_<SERVICE>_ALLOWED_CLIENTS
   * setting. The health service answers any client of the CA.
   */
  allowedClients: readonly string[];
  log: Logger;
  metrics: Pick<Metrics, 'grpcRefused'>;
  /**
   * Each client connection is closed (GOAWAY) this long after it opened, so that clients resolve
   * again and spread over replicas started since; calls in flight get `graceMs` more. Default: never.
   */
  maxConnectionAge?: { ageMs: number; graceMs: number };
}

/** Serves `services` and the standard health service, every service but health behind the allow-list. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { tls, allowedClients, log, metrics } = options;
  const refusals = createLogThrottle(log);
  const server = new Server({
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    // No channelz: it counts every call for a debugging interface we do not serve.
    'grpc.enable_channelz': 0,
    ...(options.maxConnectionAge
      ? {
          'grpc.max_connection_age_ms': options.maxConnectionAge.ageMs,
          'grpc.max_connection_age_grace_ms': options.maxConnectionAge.graceMs,
        }
      : {}),
    interceptors: tls === null ? [] : [callerCheck({ allowedClients, metrics, refusals })],
  });
  const health = new HealthRegistry();
  server.addService(HealthService, health.implementation());
  for (const service of options.services) server.addService(service.definition, service.implementation);

  const address = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${options.listen.port}`, serverCredentials(tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  health.set('', ServingStatus.SERVING);
  for (const service of options.services) health.set(service.name, ServingStatus.SERVING);
  if (tls === null)
    log.warn({ port, tls: false }, 'gRPC server listening; no TLS, so no caller is checked (tests only)');
  else log.info({ port, tls: true, allowedClients }, 'gRPC server listening');

  return {
    port,
    health,
    stop: async (graceMs = 5_000) => {
      health.setAll(ServingStatus.NOT_SERVING);
      health.endWatches();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      refusals.close();
    },
  };
}

/**
 * The gRPC server of `service` as every service runs it: on TESSERA_GRPC_LISTEN (else the
 * service's default port), admitting the callers of its TESSERA_<SERVICE>_ALLOWED_CLIENTS, closing
 * connections older than TESSERA_GRPC_MAX_CONNECTION_AGE_MS.
 */
export function serveGrpc(
  service: GrpcServiceName,
  options: Pick<GrpcServerOptions, 'services' | 'tls' | 'log' | 'metrics'> & { config: Config },
): Promise<RunningGrpcServer> {
  const { config, ...rest } = options;
  return startGrpcServer({
    ...rest,
    listen: grpcListenAddress(config, service),
    allowedClients: allowedClientsOf(config, service),
    // A call in flight when its connection ages out may take its whole deadline to finish, and the
    // longest any caller gives is requestToken's, which waits for the mail server's answer.
    maxConnectionAge: {
      ageMs: config.TESSERA_GRPC_MAX_CONNECTION_AGE_MS,
      graceMs: config.TESSERA_DELIVERY_WAIT_MS + config.TESSERA_GRPC_DEADLINE_MS,
    },
  });
}

export type { AddressInfo };

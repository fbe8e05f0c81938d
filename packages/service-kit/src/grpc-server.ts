import type { AddressInfo } from 'node:net';
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthService } from '@tessera/proto/grpc/health/v1/health';
import type { HostPort } from './addresses.js';
import { HealthRegistry, ServingStatus } from './health.js';
import type { Logger } from './logger.js';
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

export async function startGrpcServer(options: {
  listen: HostPort;
  services: GrpcServiceBinding[];
  tls: TlsFiles | null;
  log: Logger;
}): Promise<RunningGrpcServer> {
  // No channelz: it counts every call for a debugging interface we do not serve.
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  const health = new HealthRegistry();
  server.addService(HealthService, health.implementation());
  for (const service of options.services) server.addService(service.definition, service.implementation);

  const address = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${options.listen.port}`, serverCredentials(options.tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  health.set('', ServingStatus.SERVING);
  for (const service of options.services) health.set(service.name, ServingStatus.SERVING);
  options.log.info({ port, tls: options.tls !== null }, 'gRPC server listening');

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
    },
  };
}

export type { AddressInfo };

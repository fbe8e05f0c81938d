import { createServer } from 'node:net';
import { freePort } from '@tessera/local-infra';
import { isGrpcService, type ServiceDef, type ServiceName } from './services.js';

export interface ServicePorts {
  /** Only gRPC services have one. */
  grpcPort?: number;
  /** /metrics, /healthz and /readyz. */
  metricsPort: number;
}

export type PortPlan = Partial<Record<ServiceName, ServicePorts>>;

const MAX_PICKS = 100;

/**
 * A gRPC port for each gRPC service and a metrics port for each service, all distinct and none
 * in `reserved`. Ports come from `pick` (default: one the kernel just gave out on 127.0.0.1);
 * a port it hands out twice is thrown back.
 */
export async function assignPorts(
  services: readonly ServiceDef[],
  o: { reserved?: readonly number[]; pick?: () => Promise<number> } = {},
): Promise<PortPlan> {
  const pick = o.pick ?? (() => freePort('127.0.0.1'));
  const taken = new Set<number>(o.reserved ?? []);
  const next = async (): Promise<number> => {
    for (let attempt = 0; attempt < MAX_PICKS; attempt++) {
      const port = await pick();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
    throw new Error(`could not find a free port after ${MAX_PICKS} tries`);
  };
  const plan: PortPlan = {};
  for (const service of services) {
    const grpcPort = isGrpcService(service.name) ? await next() : undefined;
    const metricsPort = await next();
    plan[service.name] = grpcPort === undefined ? { metricsPort } : { grpcPort, metricsPort };
  }
  return plan;
}

/** Whether `port` can be bound on `host` right now (false: in use, or not allowed). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

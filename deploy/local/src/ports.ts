import { createServer } from 'node:net';
import { freePort } from '@tessera/local-infra';
import { hasAdminApi, isGrpcService, type ServiceDef, type ServiceName } from './services.js';

export interface ServicePorts {
  /** Only gRPC services have one. */
  grpcPort?: number;
  /** /metrics, /healthz and /readyz. */
  metricsPort: number;
  /** Directory and invite only: their admin HTTP API (binds and imports; revocations), on loopback. */
  adminPort?: number;
}

export type PortPlan = Partial<Record<ServiceName, ServicePorts>>;

const MAX_PICKS = 100;

/**
 * Every port the runner chooses itself, all distinct. A port is only promised, not held, until its
 * server binds it, and the kernel readily hands a port it just gave out to the next caller: so the
 * services' ports, NATS, Postgres and the mail catcher must all come from one allocator, or one of
 * them takes a port planned for a service that starts later (or is not built, whose clients then
 * reach the wrong server). Ports come from `pick` (default: one the kernel just gave out on
 * 127.0.0.1); one handed out before or in `reserved` is thrown back.
 */
export class PortAllocator {
  readonly #taken: Set<number>;
  readonly #pick: () => Promise<number>;

  constructor(o: { reserved?: readonly number[]; pick?: () => Promise<number> } = {}) {
    this.#taken = new Set(o.reserved ?? []);
    this.#pick = o.pick ?? (() => freePort('127.0.0.1'));
  }

  async next(): Promise<number> {
    for (let attempt = 0; attempt < MAX_PICKS; attempt++) {
      const port = await this.#pick();
      if (!this.#taken.has(port)) {
        this.#taken.add(port);
        return port;
      }
    }
    throw new Error(`could not find a free port after ${MAX_PICKS} tries`);
  }
}

/**
 * A gRPC port for each gRPC service, a metrics port for each service, and an admin port for each
 * service with an admin API, from `ports`.
 */
export async function assignPorts(services: readonly ServiceDef[], ports: PortAllocator): Promise<PortPlan> {
  const plan: PortPlan = {};
  for (const service of services) {
    const grpcPort = isGrpcService(service.name) ? await ports.next() : undefined;
    const metricsPort = await ports.next();
    const adminPort = hasAdminApi(service.name) ? await ports.next() : undefined;
    plan[service.name] = {
      ...(grpcPort === undefined ? {} : { grpcPort }),
      metricsPort,
      ...(adminPort === undefined ? {} : { adminPort }),
    };
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

import { createServer, type Server } from 'node:net';
import { freePort } from '@tessera/local-infra';
import { hasAdminApi, isGrpcService, type ServiceDef, type ServiceName } from './services.js';

export interface ServicePorts {
  /** Only gRPC services have one. */
  grpcPort?: number;
  /** /metrics, /healthz and /readyz. */
  metricsPort: number;
  /** Session, directory and invite only: their admin HTTP API (imports; binds; revocations), on loopback. */
  adminPort?: number;
  /** A gateway beyond the first: where it serves HTTP (the first serves on TESSERA_HTTP_PORT). */
  httpPort?: number;
}

/** Per service, the ports of each of its replicas (the first replica first). */
export type PortPlan = Partial<Record<ServiceName, ServicePorts[]>>;

const MAX_PICKS = 100;

/**
 * Every port the runner chooses itself, all distinct. A port is only promised, not held, until its
 * server binds it, and the kernel readily hands a port it just gave out to the next caller: so the
 * services' ports, NATS, Postgres and the mail catcher must all come from one allocator, or one of
 * them takes a port planned for a service that starts later (or is not built, whose clients then
 * reach the wrong server). Ports come from `pick` (default: a free one on 127.0.0.1); one handed out
 * before or in `reserved` is thrown back.
 *
 * With `hold`, each port is also kept bound (a listening socket of the runner's) from the moment it
 * is planned until `release`, just before its server starts: another process on this machine (a
 * second runner, a test's server) planning at the same time then cannot choose it, as it could
 * while the port was only promised and its service started seconds later.
 */
export class PortAllocator {
  readonly #taken: Set<number>;
  readonly #pick: () => Promise<number>;
  readonly #hold: boolean;
  readonly #held = new Map<number, Server>();

  constructor(o: { reserved?: readonly number[]; pick?: () => Promise<number>; hold?: boolean } = {}) {
    this.#taken = new Set(o.reserved ?? []);
    this.#pick = o.pick ?? (() => freePort('127.0.0.1'));
    this.#hold = o.hold ?? false;
  }

  /** A port of its own; held until release() when the allocator holds ports. */
  async next(): Promise<number> {
    for (let attempt = 0; attempt < MAX_PICKS; attempt++) {
      const port = await this.#pick();
      if (this.#taken.has(port)) continue;
      this.#taken.add(port);
      if (!this.#hold) return port;
      const held = await holdPort('127.0.0.1', port);
      if (held === null) continue; // taken by someone else since it was picked: another one
      this.#held.set(port, held);
      return port;
    }
    throw new Error(`could not find a free port after ${MAX_PICKS} tries`);
  }

  /** A port of its own, not held: for a server that starts at once (NATS, Postgres, the mail catcher). */
  async nextToBind(): Promise<number> {
    const port = await this.next();
    await this.release([port]);
    return port;
  }

  /** Lets these ports go, just before their servers bind them. */
  async release(ports: readonly (number | undefined)[]): Promise<void> {
    for (const port of ports) {
      if (port === undefined) continue;
      const held = this.#held.get(port);
      this.#held.delete(port);
      if (held) await new Promise<void>((resolve) => held.close(() => resolve()));
    }
  }

  async releaseAll(): Promise<void> {
    await this.release([...this.#held.keys()]);
  }
}

/** A listening socket on `host:port` (not keeping the process alive), or null when it cannot bind. */
function holdPort(host: string, port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/**
 * For each replica of each service (`replicasOf`, default one): a gRPC port for a gRPC service, a
 * metrics port, an admin port for a service with an admin API, and an HTTP port for a gateway
 * beyond the first, from `ports`.
 */
export async function assignPorts(
  services: readonly ServiceDef[],
  ports: PortAllocator,
  replicasOf: (name: ServiceName) => number = () => 1,
): Promise<PortPlan> {
  const plan: PortPlan = {};
  for (const service of services) {
    const replicas: ServicePorts[] = [];
    for (let replica = 0; replica < replicasOf(service.name); replica++) {
      const grpcPort = isGrpcService(service.name) ? await ports.next() : undefined;
      const metricsPort = await ports.next();
      const adminPort = hasAdminApi(service.name) ? await ports.next() : undefined;
      const httpPort = service.name === 'gateway' && replica > 0 ? await ports.next() : undefined;
      replicas.push({
        ...(grpcPort === undefined ? {} : { grpcPort }),
        metricsPort,
        ...(adminPort === undefined ? {} : { adminPort }),
        ...(httpPort === undefined ? {} : { httpPort }),
      });
    }
    plan[service.name] = replicas;
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

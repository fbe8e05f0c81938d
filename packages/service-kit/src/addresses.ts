import type { Config } from '@tessera/config';

export type ServiceName = 'gateway' | 'session' | 'signing' | 'directory' | 'invite' | 'projector' | 'notifier';

// Fixed defaults so that a single service can be run by hand; the local runner assigns its own.
const DEFAULT_GRPC_PORTS = { signing: 50051, session: 50052, directory: 50053, invite: 50054 } as const;
const DEFAULT_METRICS_PORTS: Record<ServiceName, number> = {
  gateway: 9100,
  signing: 9101,
  session: 9102,
  directory: 9103,
  invite: 9104,
  projector: 9105,
  notifier: 9106,
};

export type GrpcServiceName = keyof typeof DEFAULT_GRPC_PORTS;

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(value: string): HostPort {
  const at = value.lastIndexOf(':');
  const host = value.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(at + 1)) };
}

export function grpcListenAddress(config: Config, service: GrpcServiceName): HostPort {
  return config.TESSERA_GRPC_LISTEN
    ? parseHostPort(config.TESSERA_GRPC_LISTEN)
    : { host: '127.0.0.1', port: DEFAULT_GRPC_PORTS[service] };
}

export function metricsListenAddress(config: Config, service: ServiceName): HostPort {
  return config.TESSERA_METRICS_LISTEN
    ? parseHostPort(config.TESSERA_METRICS_LISTEN)
    : { host: '127.0.0.1', port: DEFAULT_METRICS_PORTS[service] };
}

const TARGET_KEYS = {
  signing: 'TESSERA_SIGNING_ADDR',
  session: 'TESSERA_SESSION_ADDR',
  directory: 'TESSERA_DIRECTORY_ADDR',
  invite: 'TESSERA_INVITE_ADDR',
} as const satisfies Record<GrpcServiceName, keyof Config>;

/**
 * Where a client finds another service, as a grpc-js target: the configured host:port or
 * dns:///host:port as written, a list of replicas' ip:port as grpc-js's `ipv4:`/`ipv6:` list;
 * unset: the service's default port on 127.0.0.1.
 */
export function grpcTarget(config: Config, service: GrpcServiceName): string {
  const configured = config[TARGET_KEYS[service]];
  if (configured === undefined) return `127.0.0.1:${DEFAULT_GRPC_PORTS[service]}`;
  if (!configured.includes(',')) return configured;
  return `${configured.startsWith('[') ? 'ipv6' : 'ipv4'}:${configured}`;
}

/** The host of the first address a grpc-js target names (host:port, dns:///host:port, ipv4:a:1,b:2). */
export function targetHost(target: string): string {
  const first = target.replace(/^(ipv4:|ipv6:|dns:\/\/[^/]*\/)/, '').split(',')[0] ?? '';
  const at = first.lastIndexOf(':');
  return (at === -1 ? first : first.slice(0, at)).replace(/^\[(.*)\]$/, '$1');
}

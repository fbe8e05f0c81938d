/** The gRPC services, each with the setting that tells the others where it is. */
export const GRPC_ADDRESS_SETTINGS = {
  signing: 'TESSERA_SIGNING_ADDR',
  session: 'TESSERA_SESSION_ADDR',
  directory: 'TESSERA_DIRECTORY_ADDR',
  invite: 'TESSERA_INVITE_ADDR',
} as const;

export type GrpcServiceName = keyof typeof GRPC_ADDRESS_SETTINGS;
export type ServiceName = GrpcServiceName | 'projector' | 'notifier' | 'gateway';

/**
 * How the runner knows a service is up:
 * - grpc: the standard gRPC health Check (service "") over mTLS with the runner's certificate;
 * - http-api: the gateway answers 200 on GET /_matrix/identity/v2;
 * - worker: the service's admin port answers 200 on GET /readyz.
 */
export type HealthKind = 'grpc' | 'http-api' | 'worker';

export interface ServiceDef {
  name: ServiceName;
  health: HealthKind;
}

/** Every service, in start order: a service starts once those before it are healthy. Stopped in reverse. */
export const SERVICES: readonly ServiceDef[] = [
  { name: 'signing', health: 'grpc' },
  { name: 'session', health: 'grpc' },
  // Before the directory and invite: it migrates the read model they read.
  { name: 'projector', health: 'worker' },
  { name: 'directory', health: 'grpc' },
  { name: 'invite', health: 'grpc' },
  { name: 'notifier', health: 'worker' },
  { name: 'gateway', health: 'http-api' },
];

/**
 * The services with an admin HTTP API (the session service's imports, the directory's binds and
 * imports, the invite service's revocations), each with the setting that says where it listens;
 * the runner turns each on, on loopback, and the CLI finds it in the state file.
 */
export const ADMIN_LISTEN_SETTINGS = {
  session: 'TESSERA_SESSION_ADMIN_LISTEN',
  directory: 'TESSERA_DIRECTORY_ADMIN_LISTEN',
  invite: 'TESSERA_INVITE_ADMIN_LISTEN',
} as const;

export type AdminApiService = keyof typeof ADMIN_LISTEN_SETTINGS;

export function hasAdminApi(name: ServiceName): name is AdminApiService {
  return Object.hasOwn(ADMIN_LISTEN_SETTINGS, name);
}

export function isGrpcService(name: ServiceName): name is GrpcServiceName {
  return Object.hasOwn(GRPC_ADDRESS_SETTINGS, name);
}

/** The certificate the runner presents to gRPC health checks. */
export const RUNNER_CERT_NAME = 'runner';

/**
 * The services given the server secret (TESSERA_SECRET_KEY_FILE): session (session ids, token
 * digests), directory and invite (address keys), gateway (the keys of its rate-limit counters).
 * Signing has its own keys, and projector and notifier derive nothing from it.
 */
export const SERVER_SECRET_HOLDERS: readonly ServiceName[] = ['session', 'directory', 'invite', 'gateway'];

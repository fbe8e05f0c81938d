import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, ConfigError } from '@tessera/config';
import type { RunnerIdentities } from './nats-identities.js';
import type { PortPlan, ServicePorts } from './ports.js';
import { replicaName } from './replicas.js';
import { serverSecretFileFor } from './server-secret.js';
import {
  ADMIN_LISTEN_SETTINGS,
  GRPC_ADDRESS_SETTINGS,
  type HealthKind,
  hasAdminApi,
  isGrpcService,
  SERVER_SECRET_HOLDERS,
  SERVICES,
  type ServiceDef,
  type ServiceName,
} from './services.js';
import type { ChildSpec } from './supervisor.js';

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface PlanInput {
  /** The runner's own environment: everything but TESSERA_* is passed on to every child (PATH, HOME, LANG...). */
  env: NodeJS.ProcessEnv;
  /** The operator's settings: TESSERA_CONFIG's file with the TESSERA_* variables over it (readSources()). */
  settings: Readonly<Record<string, string>>;
  config: Config;
  /** The runner's working directory: the children's too, and the base of relative paths. */
  cwd: string;
  /** Absolute. */
  dataDir: string;
  repoRoot: string;
  /** The services to start, in start order. */
  services: readonly ServiceDef[];
  /** Ports of every replica of every service in `services`, and a gRPC port for every gRPC service (started or not). */
  ports: PortPlan;
  /** Where the (first) gateway listens (the port is never 0 here); further gateways have a port of their own. */
  http: { host: string; port: number };
  natsUrl: string;
  databaseUrl: string;
  /** Each service's NATS credentials (its own identity's file only); none without any. */
  natsIdentities?: RunnerIdentities;
  tls: (service: ServiceName) => TlsFiles;
  /**
   * smtp://127.0.0.1:<port> of the runner's mail catcher, given to the notifier as
   * TESSERA_SMTP_URL. Unset when the operator's TESSERA_SMTP_URL is used (it passes through).
   */
  mailCatcherUrl?: string;
  /** The Node.js binary and its options; default: this one, with source maps on. */
  node?: { command: string; args: readonly string[] };
}

export interface ChildPlan extends ChildSpec {
  /** The replica: the service's name for the first, <service>-2… for the others. */
  name: string;
  service: ServiceName;
  /** Every port the runner planned for it (held until it starts). */
  ports: ServicePorts;
  /** A gateway: where it serves the API. */
  httpUrl?: string;
  health: HealthKind;
  /** host:port for gRPC health, or the URL that must answer 200. */
  healthTarget: string;
  grpcPort?: number;
  metricsPort: number;
  /** Directory and invite only: the URL of its admin API. */
  adminUrl?: string;
  env: Readonly<Record<string, string>>;
}

export interface RunPlan {
  children: ChildPlan[];
  /** Where the gateway is reached: http://127.0.0.1:8090. */
  httpUrl: string;
  publicBaseUrl: string;
  /** Given to the signing child only. */
  signingKeyFile: string;
  /** The server secret, given to SERVER_SECRET_HOLDERS only. */
  secretKeyFile: string;
  /** Operator settings the runner overrides, worth a line in the log. */
  warnings: string[];
}

/**
 * Read by the runner only: the children get the file's settings as variables instead (see
 * planRun), and each service its own NATS credentials, never the directory of all of them.
 */
const RUNNER_ONLY = [
  'TESSERA_CONFIG',
  'TESSERA_NATS_IDENTITIES_DIR',
  'TESSERA_LOCAL_NATS_NODES',
  'TESSERA_LOCAL_REPLICAS',
];
/** What leads to the signing key: only the signing child gets these. */
export const SIGNING_ONLY = ['TESSERA_SIGNING_KEY_FILE', 'TESSERA_DATA_DIR'];
/** The mail server's URL (it may hold a password) and the SMS provider's account: only the notifier talks to them. */
export const NOTIFIER_ONLY = [
  'TESSERA_SMTP_URL',
  'TESSERA_SMS_PROVIDER',
  'TESSERA_SMS_URL',
  'TESSERA_SMS_USERNAME',
  'TESSERA_SMS_PASSWORD',
  'TESSERA_SMS_FROM',
];
/** Handed to SERVER_SECRET_HOLDERS only (made absolute), never passed on as the operator wrote it. */
const SECRET_HOLDERS_ONLY = ['TESSERA_SECRET_KEY_FILE'];
/** Per child, chosen by the runner: an operator's value would make every child listen on one port. */
const PER_CHILD = [
  'TESSERA_NATS_CREDENTIALS_FILE',
  'TESSERA_GRPC_LISTEN',
  'TESSERA_METRICS_LISTEN',
  'TESSERA_TLS_CA_FILE',
  'TESSERA_TLS_CERT_FILE',
  'TESSERA_TLS_KEY_FILE',
  ...Object.values(GRPC_ADDRESS_SETTINGS),
];
/** services/<name>/dist/main.js */
export function serviceMainPath(repoRoot: string, name: ServiceName): string {
  return join(repoRoot, 'services', name, 'dist', 'main.js');
}

/** The services of the table that are built, in start order. */
export function builtServices(
  repoRoot: string,
  services: readonly ServiceDef[] = SERVICES,
  exists: (path: string) => boolean = existsSync,
): ServiceDef[] {
  return services.filter((service) => exists(serviceMainPath(repoRoot, service.name)));
}

/** The URL a client on this machine uses for a listener on host:port (a wildcard host means loopback). */
export function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  const literal = reachable.includes(':') && !reachable.startsWith('[') ? `[${reachable}]` : reachable;
  return `http://${literal}:${port}`;
}

/** The operator's key file (made absolute), else <data>/signing/signing.key. */
export function signingKeyFileFor(settings: Readonly<Record<string, string>>, dataDir: string, cwd: string): string {
  const configured = settings.TESSERA_SIGNING_KEY_FILE;
  return configured ? resolve(cwd, configured) : join(dataDir, 'signing', 'signing.key');
}

/** What every child runs with: the environment, the command, the ports and how its health is checked. */
export function planRun(input: PlanInput): RunPlan {
  const { settings, config, ports } = input;
  const httpUrl = localUrl(input.http.host, input.http.port);
  // The default public base (127.0.0.1:8090) is wrong for any other port: follow the real one.
  const publicBaseUrl = settings.TESSERA_PUBLIC_BASE_URL ? config.TESSERA_PUBLIC_BASE_URL : httpUrl;
  const signingKeyFile = signingKeyFileFor(settings, input.dataDir, input.cwd);
  const secretKeyFile = serverSecretFileFor(settings, input.dataDir, input.cwd);
  const warnings = PER_CHILD.filter((key) => settings[key] !== undefined).map(
    (key) => `${key} is ignored: the runner assigns it to each service itself`,
  );

  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.env)) {
    if (value !== undefined && !key.startsWith('TESSERA_')) base[key] = value;
  }
  const withheld = new Set([...RUNNER_ONLY, ...SIGNING_ONLY, ...SECRET_HOLDERS_ONLY, ...PER_CHILD, ...NOTIFIER_ONLY]);
  const operator = Object.fromEntries(Object.entries(settings).filter(([key]) => !withheld.has(key)));
  const notifierOnly = Object.fromEntries(Object.entries(settings).filter(([key]) => NOTIFIER_ONLY.includes(key)));
  const addresses: Record<string, string> = {};
  for (const [name, key] of Object.entries(GRPC_ADDRESS_SETTINGS)) {
    // Every replica: the clients spread their calls over the list (round robin).
    const replicas = (ports[name as ServiceName] ?? []).map((replica) => replica.grpcPort);
    if (replicas.length === 0 || replicas.includes(undefined)) throw new Error(`no gRPC port was assigned to ${name}`);
    addresses[key] = replicas.map((port) => `127.0.0.1:${port}`).join(',');
  }
  const shared: Record<string, string> = {
    ...base,
    ...operator,
    TESSERA_SERVER_NAME: config.TESSERA_SERVER_NAME,
    TESSERA_PUBLIC_BASE_URL: publicBaseUrl,
    TESSERA_HTTP_HOST: input.http.host,
    TESSERA_HTTP_PORT: String(input.http.port),
    TESSERA_LOG_LEVEL: config.TESSERA_LOG_LEVEL,
    TESSERA_NATS_URL: input.natsUrl,
    TESSERA_DATABASE_URL: input.databaseUrl,
    ...addresses,
  };

  const node = input.node ?? { command: process.execPath, args: ['--enable-source-maps'] };
  const replicas = input.services.flatMap((service) => {
    const planned = ports[service.name];
    if (planned === undefined || planned.length === 0) throw new Error(`no ports were assigned to ${service.name}`);
    return planned.map((servicePorts, index) => ({ service, servicePorts, index }));
  });
  const children = replicas.map(({ service, servicePorts, index }): ChildPlan => {
    const tls = input.tls(service.name);
    const ownHttpUrl = servicePorts.httpPort === undefined ? httpUrl : localUrl(input.http.host, servicePorts.httpPort);
    const env: Record<string, string> = {
      ...shared,
      ...(servicePorts.httpPort === undefined ? {} : { TESSERA_HTTP_PORT: String(servicePorts.httpPort) }),
      TESSERA_METRICS_LISTEN: `127.0.0.1:${servicePorts.metricsPort}`,
      TESSERA_TLS_CA_FILE: tls.caFile,
      TESSERA_TLS_CERT_FILE: tls.certFile,
      TESSERA_TLS_KEY_FILE: tls.keyFile,
    };
    const natsCredentials = input.natsIdentities?.fileOf(service.name);
    if (natsCredentials !== undefined) env.TESSERA_NATS_CREDENTIALS_FILE = natsCredentials;
    if (isGrpcService(service.name)) {
      if (servicePorts.grpcPort === undefined) throw new Error(`no gRPC port was assigned to ${service.name}`);
      env.TESSERA_GRPC_LISTEN = `127.0.0.1:${servicePorts.grpcPort}`;
    }
    if (service.name === 'signing') {
      env.TESSERA_SIGNING_KEY_FILE = signingKeyFile;
      env.TESSERA_DATA_DIR = input.dataDir;
    }
    if (SERVER_SECRET_HOLDERS.includes(service.name)) env.TESSERA_SECRET_KEY_FILE = secretKeyFile;
    let adminUrl: string | undefined;
    if (hasAdminApi(service.name)) {
      // On by default here, on loopback (no token needed there): `tessera directory import`,
      // `tessera invite revoke`, `tessera import sydent` and the benchmark seed use it. The
      // operator's address (and token file) win.
      const setting = ADMIN_LISTEN_SETTINGS[service.name];
      // The operator's address can serve one replica only: the first.
      const listen =
        (index === 0 ? config[setting] : undefined) ?? `127.0.0.1:${adminPortOf(service.name, servicePorts)}`;
      env[setting] = listen;
      const at = listen.lastIndexOf(':');
      adminUrl = localUrl(listen.slice(0, at).replace(/^\[|\]$/g, ''), Number(listen.slice(at + 1)));
    }
    if (service.name === 'notifier') {
      Object.assign(env, notifierOnly);
      if (input.mailCatcherUrl) env.TESSERA_SMTP_URL = input.mailCatcherUrl;
    }
    return {
      name: replicaName(service.name, index),
      service: service.name,
      ports: servicePorts,
      ...(service.name === 'gateway' ? { httpUrl: ownHttpUrl } : {}),
      command: node.command,
      args: [...node.args, serviceMainPath(input.repoRoot, service.name)],
      cwd: input.cwd,
      env,
      health: service.health,
      healthTarget: healthTarget(service, servicePorts, ownHttpUrl),
      ...(servicePorts.grpcPort === undefined ? {} : { grpcPort: servicePorts.grpcPort }),
      metricsPort: servicePorts.metricsPort,
      ...(adminUrl === undefined ? {} : { adminUrl }),
    };
  });
  assertKeyConfined(children, signingKeyFile, input.cwd);
  assertConfined(children, secretKeyFile, input.cwd, {
    holders: SERVER_SECRET_HOLDERS,
    what: `the server secret file, which only ${SERVER_SECRET_HOLDERS.join(', ')} may read`,
  });
  for (const [identity, file] of input.natsIdentities?.files ?? [])
    assertConfined(children, file, input.cwd, {
      holders: [identity],
      what: `the NATS credentials of ${identity}${identity === 'admin' ? ', which no service gets' : ''}`,
    });
  return { children, httpUrl, publicBaseUrl, signingKeyFile, secretKeyFile, warnings };
}

function adminPortOf(name: ServiceName, ports: { adminPort?: number }): number {
  if (ports.adminPort === undefined) throw new Error(`no admin port was assigned to ${name}`);
  return ports.adminPort;
}

function healthTarget(service: ServiceDef, ports: { grpcPort?: number; metricsPort: number }, httpUrl: string) {
  switch (service.health) {
    case 'grpc':
      return `127.0.0.1:${ports.grpcPort}`;
    case 'http-api':
      return `${httpUrl}/_matrix/identity/v2`;
    case 'worker':
      return `http://127.0.0.1:${ports.metricsPort}/readyz`;
  }
}

/**
 * Refuses a plan in which a child other than signing could find the signing key through its
 * environment or arguments (an operator setting such as TESSERA_TERMS_FILE naming the key file).
 */
export function assertKeyConfined(
  children: readonly (ChildSpec & { service?: string })[],
  keyFile: string,
  cwd: string,
): void {
  assertConfined(children, keyFile, cwd, {
    holders: ['signing'],
    what: 'the signing key file, which only the signing service may read',
  });
}

/**
 * Refuses a plan in which a child outside `holders` finds `file` named in its environment or
 * arguments. `what` completes "names ..." in the message.
 */
export function assertConfined(
  children: readonly (ChildSpec & { service?: string })[],
  file: string,
  cwd: string,
  o: { holders: readonly string[]; what: string },
): void {
  for (const child of children) {
    if (o.holders.includes(child.service ?? child.name)) continue;
    const values = [
      ...Object.entries(child.env).map(([key, value]) => [key, value] as const),
      ...child.args.map((arg, i) => [`argument ${i + 1}`, arg] as const),
    ];
    for (const [where, value] of values) {
      if (value.includes(file) || (value !== '' && resolve(cwd, value) === file)) {
        throw new ConfigError(`${where} (given to ${child.name}): names ${o.what}`);
      }
    }
  }
}

import { readFileSync } from 'node:fs';
import { ChannelCredentials, experimental, ServerCredentials } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import { ConfigError } from '@tessera/config';
import { type CertificateReloadEvent, ReloadingCertificates } from './certificate-reload.js';
import type { Logger } from './logger.js';

export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Read from files: the same files read again when they change (servers and channels made from here follow). */
  reloading?: ReloadingCertificates;
}

const TLS_SETTINGS = ['TESSERA_TLS_CA_FILE', 'TESSERA_TLS_CERT_FILE', 'TESSERA_TLS_KEY_FILE'] as const;

/**
 * The CA and this process's own certificate, or null when gRPC runs without TLS (development
 * only); read again every TESSERA_TLS_RELOAD_INTERVAL_MS while in use, each change logged.
 */
export function readTlsFiles(config: Config, log?: Logger): TlsFiles | null {
  const names = TLS_SETTINGS;
  const set = names.filter((name) => config[name] !== undefined);
  if (set.length === 0) return null;
  if (set.length < names.length) {
    const missing = names.filter((name) => config[name] === undefined);
    throw new ConfigError(`${missing.join(', ')}: required when ${set.join(', ')} is set`);
  }
  const read = (name: (typeof names)[number]) => {
    const file = config[name] as string;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const bytes = {
    ca: read('TESSERA_TLS_CA_FILE'),
    cert: read('TESSERA_TLS_CERT_FILE'),
    key: read('TESSERA_TLS_KEY_FILE'),
  };
  const files = {
    caFile: config.TESSERA_TLS_CA_FILE as string,
    certFile: config.TESSERA_TLS_CERT_FILE as string,
    keyFile: config.TESSERA_TLS_KEY_FILE as string,
  };
  const reloading = new ReloadingCertificates(files, bytes, {
    intervalMs: config.TESSERA_TLS_RELOAD_INTERVAL_MS,
    ...(log ? { onEvent: (event: CertificateReloadEvent) => logReload(log, event) } : {}),
  });
  return { ...bytes, reloading };
}

function logReload(log: Logger, event: CertificateReloadEvent): void {
  if (event.type === 'reloaded') log.info({ certFile: event.files.certFile }, 'TLS certificates changed: reloaded');
  else
    log.warn(
      { certFile: event.files.certFile, reason: event.reason },
      'TLS files changed but do not make a valid pair (yet): keeping the certificates in use',
    );
}

/**
 * The TLS files of a service that serves gRPC: it never runs without mutual TLS, because its
 * allow-list is made of client certificate names, which only TLS provides.
 */
export function requireTlsFiles(config: Config, service: string, log?: Logger): TlsFiles {
  const tls = readTlsFiles(config, log);
  if (tls === null)
    throw new ConfigError(
      `${TLS_SETTINGS.join(', ')}: required by the ${service} service, which only serves mutual TLS (its callers are checked by their certificates)`,
    );
  return tls;
}

/** With TLS files: mutual TLS, every client must present a certificate from the same CA. */
export function serverCredentials(tls: TlsFiles | null): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  // One provider for both roles: it hands out the CA and the pair alike (and so the argument order,
  // which grpc-js 1.14 swaps between this function and the class it builds, cannot matter).
  if (tls.reloading) return experimental.createCertificateProviderServerCredentials(tls.reloading, tls.reloading, true);
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export function channelCredentials(tls: TlsFiles | null): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  if (tls.reloading) return experimental.createCertificateProviderChannelCredentials(tls.reloading, tls.reloading);
  return ChannelCredentials.createSsl(tls.ca, tls.key, tls.cert);
}

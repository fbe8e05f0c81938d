import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { Config } from '@tessera/config';
import { ConfigError } from '@tessera/config';

export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

const TLS_SETTINGS = ['TESSERA_TLS_CA_FILE', 'TESSERA_TLS_CERT_FILE', 'TESSERA_TLS_KEY_FILE'] as const;

/** The CA and this process's own certificate, or null when gRPC runs without TLS (development only). */
export function readTlsFiles(config: Config): TlsFiles | null {
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
  return { ca: read('TESSERA_TLS_CA_FILE'), cert: read('TESSERA_TLS_CERT_FILE'), key: read('TESSERA_TLS_KEY_FILE') };
}

/**
 * The TLS files of a service that serves gRPC: it never runs without mutual TLS, because its
 * allow-list is made of client certificate names, which only TLS provides.
 */
export function requireTlsFiles(config: Config, service: string): TlsFiles {
  const tls = readTlsFiles(config);
  if (tls === null)
    throw new ConfigError(
      `${TLS_SETTINGS.join(', ')}: required by the ${service} service, which only serves mutual TLS (its callers are checked by their certificates)`,
    );
  return tls;
}

/** With TLS files: mutual TLS, every client must present a certificate from the same CA. */
export function serverCredentials(tls: TlsFiles | null): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export function channelCredentials(tls: TlsFiles | null): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createSsl(tls.ca, tls.key, tls.cert);
}

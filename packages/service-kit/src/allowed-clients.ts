import type { Config } from '@tessera/config';
import type { GrpcServiceName } from './addresses.js';

const SETTINGS = {
  signing: 'TESSERA_SIGNING_ALLOWED_CLIENTS',
  session: 'TESSERA_SESSION_ALLOWED_CLIENTS',
  directory: 'TESSERA_DIRECTORY_ALLOWED_CLIENTS',
  invite: 'TESSERA_INVITE_ALLOWED_CLIENTS',
} as const satisfies Record<GrpcServiceName, keyof Config>;

/** The certificate names that may call `service`: its TESSERA_<SERVICE>_ALLOWED_CLIENTS setting. */
export function allowedClientsOf(config: Config, service: GrpcServiceName): readonly string[] {
  return config[SETTINGS[service]];
}

import type { Config } from '@tessera/config';
import { createSecrets, readServerSecret, type Secrets } from '@tessera/server-secret';
import { adminTokenOf } from '@tessera/service-kit';

/** What the invite service reads from files at start; a bad file stops it before anything opens. */
export type InviteSettings = { secrets: Secrets; adminToken: string | null };

/**
 * TESSERA_SECRET_KEY_FILE (required: address keys, invite ids, sender keys), and the admin API's
 * token file, required when TESSERA_INVITE_ADMIN_LISTEN is not a loopback address. Throws
 * ConfigError naming the key.
 */
export function loadInviteSettings(config: Config): InviteSettings {
  return {
    secrets: createSecrets(readServerSecret(config.TESSERA_SECRET_KEY_FILE)),
    adminToken: adminTokenOf(
      { setting: 'TESSERA_INVITE_ADMIN_LISTEN', value: config.TESSERA_INVITE_ADMIN_LISTEN },
      { setting: 'TESSERA_INVITE_ADMIN_TOKEN_FILE', value: config.TESSERA_INVITE_ADMIN_TOKEN_FILE },
    ),
  };
}

import { IMPORT_PATHS, type ImportBatchAnswer } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import { type AdminApi, type HostPort, type Logger, readJsonObject, startAdminApi } from '@tessera/service-kit';
import type { InviteImports } from '../imports/invite-imports.js';
import type { Invites, RevokeTarget } from '../invites.js';
import { ADMIN_PATHS } from './admin-paths.js';
import { readImportItems } from './import-batch.js';

export interface InviteAdminOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  invites: Invites;
  imports: InviteImports;
  log: Logger;
}

/**
 * The invite service's admin HTTP API, off unless TESSERA_INVITE_ADMIN_LISTEN is set: revoke one
 * invite by its token (`{token}`) or every invite still deliverable to an address
 * (`{medium, address}`), answering `{revoked: <how many>}`; and the imports of `tessera import
 * sydent` (invites, ephemeral keys: @tessera/admin-imports), answering one outcome per item.
 */
export function startInviteAdmin({ listen, token, invites, imports, log }: InviteAdminOptions): Promise<AdminApi> {
  return startAdminApi({
    service: 'invite',
    listen,
    token,
    paths: [...Object.values(ADMIN_PATHS), ...Object.values(IMPORT_PATHS.invite)],
    log,
    requestTimeoutMs: 60_000,
    route: async (path, req): Promise<{ revoked: number } | ImportBatchAnswer> => {
      switch (path) {
        case IMPORT_PATHS.invite.invites:
          return { outcomes: await imports.invites(await readImportItems(req)) };
        case IMPORT_PATHS.invite.ephemeralKeys:
          return { outcomes: await imports.ephemeralKeys(await readImportItems(req)) };
        default:
          return { revoked: await invites.revoke(revokeTargetOf(await readJsonObject(req))) };
      }
    },
  });
}

function revokeTargetOf(body: Record<string, unknown>): RevokeTarget {
  const { token, medium, address } = body;
  if (typeof token === 'string' && token !== '' && medium === undefined && address === undefined) return { token };
  if (token === undefined && typeof medium === 'string' && typeof address === 'string') return { medium, address };
  throw new TesseraError('M_MISSING_PARAMS', 'give either token, or medium and address');
}

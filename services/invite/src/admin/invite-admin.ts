import { TesseraError } from '@tessera/errors';
import { type AdminApi, type HostPort, type Logger, readJsonObject, startAdminApi } from '@tessera/service-kit';
import type { Invites, RevokeTarget } from '../invites.js';
import { ADMIN_PATHS } from './admin-paths.js';

export interface InviteAdminOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  invites: Invites;
  log: Logger;
}

/**
 * The invite service's admin HTTP API, off unless TESSERA_INVITE_ADMIN_LISTEN is set: revoke one
 * invite by its token (`{token}`) or every invite still deliverable to an address
 * (`{medium, address}`); answers `{revoked: <how many>}`.
 */
export function startInviteAdmin({ listen, token, invites, log }: InviteAdminOptions): Promise<AdminApi> {
  return startAdminApi({
    service: 'invite',
    listen,
    token,
    paths: Object.values(ADMIN_PATHS),
    log,
    requestTimeoutMs: 60_000,
    route: async (_path, req) => ({ revoked: await invites.revoke(revokeTargetOf(await readJsonObject(req))) }),
  });
}

function revokeTargetOf(body: Record<string, unknown>): RevokeTarget {
  const { token, medium, address } = body;
  if (typeof token === 'string' && token !== '' && medium === undefined && address === undefined) return { token };
  if (token === undefined && typeof medium === 'string' && typeof address === 'string') return { medium, address };
  throw new TesseraError('M_MISSING_PARAMS', 'give either token, or medium and address');
}

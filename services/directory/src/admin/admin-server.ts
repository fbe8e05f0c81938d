import { type AdminApi, type HostPort, type Logger, readJsonObject, startAdminApi } from '@tessera/service-kit';
import type { Binder } from '../binder.js';
import type { Peppers } from '../peppers.js';
import { parseAdminThreepid } from './admin-input.js';
import { ADMIN_PATHS } from './admin-paths.js';
import { importAssociations } from './import.js';

export type AdminServer = AdminApi;

export interface DirectoryAdminOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  binder: Binder;
  peppers: Peppers;
  log: Logger;
}

/**
 * The directory's admin HTTP API (Sydent's internal bind and unbind, imports, pepper rotation),
 * on its own port, off unless TESSERA_DIRECTORY_ADMIN_LISTEN is set (service-kit's admin API:
 * bearer token, POST only, Matrix errors). No request timeout: an import of millions of lines
 * streams for longer than Node's default 5 minutes.
 */
export function startDirectoryAdmin({
  listen,
  token,
  binder,
  peppers,
  log,
}: DirectoryAdminOptions): Promise<AdminServer> {
  return startAdminApi({
    service: 'directory',
    listen,
    token,
    paths: Object.values(ADMIN_PATHS),
    log,
    route: async (path, req) => {
      switch (path) {
        case ADMIN_PATHS.bind: {
          const threepid = parseAdminThreepid(await readJsonObject(req), { withMxid: true });
          return JSON.parse(await binder.bind({ ...threepid, source: 'admin' })) as unknown;
        }
        case ADMIN_PATHS.unbind: {
          const { medium, address } = parseAdminThreepid(await readJsonObject(req), { withMxid: false });
          await binder.unbind({ medium, address, mxid: null, authority: 'admin' });
          return {};
        }
        case ADMIN_PATHS.import:
          return importAssociations(req, binder, log);
        default:
          return { pepper_id: await peppers.rotate() };
      }
    },
  });
}

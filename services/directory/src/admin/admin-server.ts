import { IMPORT_PATHS, MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import {
  type AdminApi,
  type HostPort,
  type Logger,
  readImportItems,
  readJsonObject,
  startAdminApi,
} from '@tessera/service-kit';
import type { Binder } from '../binder.js';
import type { Peppers } from '../peppers.js';
import { parseAdminThreepid } from './admin-input.js';
import { ADMIN_PATHS } from './admin-paths.js';
import { checkImportSignature, importAssociationBatch, STORE_CONCURRENCY } from './association-import.js';
import { concurrencyLimit } from './concurrency-limit.js';
import { importAssociations } from './import.js';
import { importPepper } from './pepper-import.js';

export type AdminServer = AdminApi;

/** A batch of 1,000 associations with a few signatures each is ~0.5 MB; this leaves room for more. */
const MAX_IMPORT_BODY_BYTES = 8 * 1024 * 1024;

export interface DirectoryAdminOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  binder: Binder;
  peppers: Peppers;
  log: Logger;
}

/**
 * The directory's admin HTTP API (Sydent's internal bind and unbind, imports of JSON lines and of a
 * Sydent deployment's associations and pepper, pepper rotation), on its own port, off unless
 * TESSERA_DIRECTORY_ADMIN_LISTEN is set (service-kit's admin API: bearer token, POST only, Matrix
 * errors). No request timeout: an import of millions of lines streams for longer than Node's
 * default 5 minutes.
 */
export function startDirectoryAdmin({
  listen,
  token,
  binder,
  peppers,
  log,
}: DirectoryAdminOptions): Promise<AdminServer> {
  const importLimit = concurrencyLimit(STORE_CONCURRENCY);
  return startAdminApi({
    service: 'directory',
    listen,
    token,
    paths: [...Object.values(ADMIN_PATHS), ...Object.values(IMPORT_PATHS.directory)],
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
        case IMPORT_PATHS.directory.associations: {
          const items = await readImportItems(req, { maxItems: MAX_IMPORT_BATCH, maxBytes: MAX_IMPORT_BODY_BYTES });
          return importAssociationBatch(items, { binder, limit: importLimit, log });
        }
        case IMPORT_PATHS.directory.checkSignature:
          return checkImportSignature(await readJsonObject(req), binder);
        case IMPORT_PATHS.directory.pepper:
          return importPepper(await readJsonObject(req), { peppers, binder });
        default:
          return { pepper_id: await peppers.rotate() };
      }
    },
  });
}

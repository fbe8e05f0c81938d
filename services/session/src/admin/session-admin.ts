import { IMPORT_PATHS } from '@tessera/admin-imports';
import { type AdminApi, type HostPort, type Logger, startAdminApi } from '@tessera/service-kit';
import { type ImportItem, importBatch } from './import-batch.js';

export interface SessionAdminOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  /** One per import path of @tessera/admin-imports. */
  importers: { accounts: ImportItem; terms: ImportItem; sessions: ImportItem };
  log: Logger;
}

const PATHS = IMPORT_PATHS.session;

/**
 * The session service's admin HTTP API, off unless TESSERA_SESSION_ADMIN_LISTEN is set: the imports
 * of `tessera import sydent` (accounts, terms acceptances, validation sessions), each a batch
 * answered item by item (@tessera/admin-imports).
 */
export function startSessionAdmin({ listen, token, importers, log }: SessionAdminOptions): Promise<AdminApi> {
  const importerOf: Record<string, ImportItem> = {
    [PATHS.accounts]: importers.accounts,
    [PATHS.terms]: importers.terms,
    [PATHS.sessions]: importers.sessions,
  };
  return startAdminApi({
    service: 'session',
    listen,
    token,
    paths: Object.values(PATHS),
    log,
    requestTimeoutMs: 60_000,
    route: async (path, req) => {
      const started = Date.now();
      const answer = await importBatch(req, importerOf[path] as ImportItem);
      const count = (outcome: string) => answer.outcomes.filter((item) => item.outcome === outcome).length;
      log.info(
        {
          path,
          imported: count('imported'),
          present: count('present'),
          refused: count('refused'),
          ms: Date.now() - started,
        },
        'import batch',
      );
      return answer;
    },
  });
}

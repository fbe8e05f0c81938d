import type { Authenticator } from '../auth.js';
import type { DirectoryLookups, DirectoryPort } from '../directory-lookups.js';

/** What the bind, unbind and lookup routes need; gateway.ts wires the real ones, tests fakes. */
export interface DirectoryRouteDeps {
  directory: Pick<DirectoryPort, 'bind' | 'unbind'>;
  /** Lookups, coalesced (directory-lookups.ts). */
  lookups: DirectoryLookups;
  /** v2's token check, without a session call per request where the answer is known (token-checks.ts). */
  auth: Authenticator;
}

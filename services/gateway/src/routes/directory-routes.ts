import { bindRoutes } from './bind.js';
import type { DirectoryRouteDeps } from './directory-deps.js';
import { lookupRoutes } from './lookup.js';
import type { Route } from './route.js';

/** Every route served by the directory service: bind, unbind, and the lookups. */
export function directoryRoutes(deps: DirectoryRouteDeps): Route[] {
  return [...bindRoutes(deps), ...lookupRoutes(deps)];
}

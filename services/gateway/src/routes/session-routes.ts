import { accountRoutes } from './account.js';
import { requestTokenRoutes } from './request-token.js';
import type { Route } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';
import { submitTokenRoutes } from './submit-token.js';
import { termsRoutes } from './terms.js';
import { validated3pidRoutes } from './validated-3pid.js';

/** Every route served by the session service: validation sessions, accounts, terms. */
export function sessionRoutes(deps: SessionRouteDeps): Route[] {
  return [
    ...requestTokenRoutes(deps),
    ...submitTokenRoutes(deps),
    ...validated3pidRoutes(deps),
    ...accountRoutes(deps),
    ...termsRoutes(deps),
  ];
}

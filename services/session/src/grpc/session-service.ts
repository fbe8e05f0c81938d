import { storeFailuresUnavailable } from '@tessera/event-store';
import type { SessionServiceServer } from '@tessera/proto/tessera/session/v1/session';
import { type UnaryContext, unaryService } from '@tessera/service-kit';
import { type AccountDeps, accountHandlers } from './account-handlers.js';
import { type TermsDeps, termsHandlers } from './terms-handlers.js';
import { type ValidationDeps, validationHandlers } from './validation-handlers.js';

export const SESSION_SERVICE_NAME = 'tessera.session.v1.SessionService';

export type SessionDeps = Omit<ValidationDeps, 'authenticate'> & AccountDeps & TermsDeps;

/** The grpc-js implementation: every handler's errors go through toServiceError. */
export function sessionService(deps: SessionDeps, context: UnaryContext): SessionServiceServer {
  const accounts = accountHandlers(deps);
  // RequestToken checks a v2 caller itself, exactly as Authenticate does.
  const authenticate = (token: string) => accounts.authenticate({ token });
  const handlers = { ...validationHandlers({ ...deps, authenticate }), ...accounts, ...termsHandlers(deps) };
  return unaryService<SessionServiceServer>(SESSION_SERVICE_NAME, storeFailuresUnavailable(handlers), context);
}

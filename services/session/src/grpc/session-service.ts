import type { SessionServiceServer } from '@tessera/proto/tessera/session/v1/session';
import { type UnaryContext, unaryService } from '@tessera/service-kit';
import { type AccountDeps, accountHandlers } from './account-handlers.js';
import { type TermsDeps, termsHandlers } from './terms-handlers.js';
import { type ValidationDeps, validationHandlers } from './validation-handlers.js';

export const SESSION_SERVICE_NAME = 'tessera.session.v1.SessionService';

export type SessionDeps = ValidationDeps & AccountDeps & TermsDeps;

/** The grpc-js implementation: every handler's errors go through toServiceError. */
export function sessionService(deps: SessionDeps, context: UnaryContext): SessionServiceServer {
  return unaryService<SessionServiceServer>(
    SESSION_SERVICE_NAME,
    { ...validationHandlers(deps), ...accountHandlers(deps), ...termsHandlers(deps) },
    context,
  );
}

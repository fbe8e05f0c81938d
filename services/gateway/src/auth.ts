import { TesseraError, termsNotSigned } from '@tessera/errors';
import type { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import type { DeadlineClient } from '@tessera/service-kit';
import type { ApiRequest } from './api-request.js';

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The v2 access token: `Authorization: Bearer` first, else the `access_token` query parameter,
 * which the spec deprecated (v1.11) but older clients and homeservers still send.
 */
export function accessTokenOf(req: ApiRequest): string | undefined {
  const header = BEARER.exec(req.header('authorization') ?? '');
  if (header?.[1]) return header[1];
  const query = req.query.access_token;
  return typeof query === 'string' && query !== '' ? query : undefined;
}

export function requireAccessToken(req: ApiRequest): string {
  const token = accessTokenOf(req);
  if (token === undefined) throw new TesseraError('M_UNAUTHORIZED', 'an access token is required');
  return token;
}

export interface AuthOptions {
  /** Refuse with 403 M_TERMS_NOT_SIGNED while the user has not accepted every current policy. */
  terms: boolean;
}

export type Authenticator = (req: ApiRequest, options: AuthOptions) => Promise<{ userId: string }>;

/** What the session service says of a token: Authenticate's answer. */
export type TokenCheck = { userId: string; termsAccepted: boolean };
export type CheckToken = (accessToken: string) => Promise<TokenCheck>;

/**
 * Who holds the request's token (401 M_UNAUTHORIZED when none is given or `check` refuses it).
 * The terms check applies to every authenticated endpoint but POST /terms (accepting them) and
 * logout (a user must always be able to leave).
 */
export function authenticatorOf(check: CheckToken): Authenticator {
  return async (req, { terms }) => {
    const { userId, termsAccepted } = await check(requireAccessToken(req));
    if (terms && !termsAccepted) throw termsNotSigned();
    return { userId };
  };
}

/** The token check that asks the session service every time. */
export function sessionTokenCheck(session: Pick<DeadlineClient<SessionServiceClient>, 'authenticate'>): CheckToken {
  return (token) => session.authenticate({ token });
}

/** An authenticator asking the session service on every request. */
export function authenticator(session: Pick<DeadlineClient<SessionServiceClient>, 'authenticate'>): Authenticator {
  return authenticatorOf(sessionTokenCheck(session));
}

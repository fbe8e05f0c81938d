import type { Metadata } from '@grpc/grpc-js';
import { TesseraError } from '@tessera/errors';
import type { EventStore } from '@tessera/event-store';
import type {
  AuthenticateRequest,
  AuthenticateResponse,
  LogoutRequest,
  LogoutResponse,
  RegisterAccountRequest,
  RegisterAccountResponse,
} from '@tessera/proto/tessera/session/v1/session';
import type { Logger } from '@tessera/service-kit';
import type { AggregateCache } from '../aggregate-cache.js';
import { accountSubject, termsSubject } from '../aggregates.js';
import type { Clock } from '../clock.js';
import { correlationIdOf } from '../correlation.js';
import { type Account, accountHolder, decide, evolve, initialState } from '../domain/account.js';
import * as terms from '../domain/terms.js';
import { fromStoredEvents, toStoredEvent } from '../events/account-events.js';
import * as termsEvents from '../events/terms-events.js';
import { storedDecider } from '../stored-decider.js';
import type { TermsDocument } from '../terms-file.js';
import { newAccessToken } from '../tokens.js';
import { checkAccessToken, checkServerName, serverOfUserId } from './request-checks.js';

/** What RegisterAccount needs of the federation client: the homeserver's word on an OpenID token. */
export interface OpenIdVerifier {
  getOpenIdUserInfo(serverName: string, accessToken: string): Promise<{ sub: string }>;
}

export interface AccountDeps {
  store: EventStore;
  openId: OpenIdVerifier;
  /** TESSERA_HOMESERVER_ALLOW: server names that may register; empty allows every server. */
  homeserverAllow: readonly string[];
  terms: TermsDocument;
  now: Clock;
  log: Logger;
  /** Account states by subject, kept current by every replica's appends (Authenticate runs per request). */
  accountStates: AggregateCache<Account>;
  /** Terms states by subject, likewise. */
  termsStates: AggregateCache<terms.Terms>;
}

type Call = { metadata?: Metadata };
type Handler<Req, Res> = (request: Req, call: Call) => Promise<Res>;

export interface AccountHandlers {
  registerAccount: Handler<RegisterAccountRequest, RegisterAccountResponse>;
  authenticate: Handler<AuthenticateRequest, AuthenticateResponse>;
  logout: Handler<LogoutRequest, LogoutResponse>;
}

const accounts = storedDecider({ decide, evolve, initialState }, { toStoredEvent, fromStoredEvents });
const acceptances = storedDecider(terms, termsEvents);

// Sydent answers 403 M_UNAUTHORIZED when the homeserver may not, or did not, vouch for the user:
// the status says "refused", not "log in" (401 would send clients to look for an IS token).
const refused = (message: string) => new TesseraError('M_UNAUTHORIZED', message, { httpStatus: 403 });

export function accountHandlers({
  store,
  openId,
  homeserverAllow,
  terms: document,
  now,
  log,
  accountStates,
  termsStates,
}: AccountDeps): AccountHandlers {
  const allowed = new Set(homeserverAllow.map((name) => name.toLowerCase()));
  const loadAccount = async (subject: string) => accounts.stateOf((await store.load(subject)).events);
  const loadTerms = async (subject: string) => acceptances.stateOf((await store.load(subject)).events);

  return {
    registerAccount: async (request, call) => {
      if (request.tokenType !== 'Bearer') throw new TesseraError('M_INVALID_PARAM', 'token_type must be Bearer');
      const accessToken = checkAccessToken(request.accessToken);
      const matrixServerName = checkServerName(request.matrixServerName);
      if (allowed.size > 0 && !allowed.has(matrixServerName))
        throw refused('This homeserver may not register accounts on this identity server');
      const { sub } = await userInfo(openId, matrixServerName, accessToken, log);
      if (serverOfUserId(sub) !== matrixServerName)
        throw refused('The homeserver vouched for a user who is not on that homeserver');

      const token = newAccessToken();
      const correlationId = correlationIdOf(call.metadata);
      const events = accounts.decide({ type: 'RegisterAccount', userId: sub, matrixServerName, now: now() }, []);
      await store.append(accountSubject(token), events, { expectedSeq: 0, correlationId });
      log.info({ matrixServerName, correlationId }, 'account registered');
      return { token };
    },

    authenticate: async ({ token }) => {
      if (token === '') throw new TesseraError('M_UNAUTHORIZED', 'Missing access token');
      const userId = accountHolder(await accountStates.get(accountSubject(token), loadAccount));
      if (document.policies.length === 0) return { userId, termsAccepted: true };
      const accepted = await termsStates.get(termsSubject(userId), loadTerms);
      return { userId, termsAccepted: terms.allAccepted(accepted, document.policies) };
    },

    logout: async ({ token }, call) => {
      if (token === '') throw new TesseraError('M_UNKNOWN_TOKEN', 'Missing access token');
      const subject = accountSubject(token);
      try {
        await store.handle(subject, (history) => accounts.decide({ type: 'Logout', now: now() }, history), {
          correlationId: correlationIdOf(call.metadata),
        });
      } finally {
        accountStates.invalidate(subject); // at once here; other replicas drop it when the append reaches them
      }
      return {};
    },
  };
}

/**
 * The homeserver's answer. Its own Matrix errors (a rejected token, an unreachable server) pass on;
 * anything else becomes M_UNKNOWN with no cause attached, because the cause may quote the
 * userinfo URL, whose query holds the OpenID access token, and causes are logged.
 */
async function userInfo(openId: OpenIdVerifier, serverName: string, accessToken: string, log: Logger) {
  try {
    return await openId.getOpenIdUserInfo(serverName, accessToken);
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    log.warn({ matrixServerName: serverName, error: (err as Error)?.name }, 'OpenID userinfo check failed');
    throw new TesseraError('M_UNKNOWN', 'Could not check the OpenID token with the homeserver');
  }
}

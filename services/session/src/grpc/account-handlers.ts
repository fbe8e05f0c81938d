import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, loadState } from '@tessera/event-store';
import { HomeserverFailure } from '@tessera/federation-client';
import type {
  AuthenticateRequest,
  AuthenticateResponse,
  LogoutRequest,
  LogoutResponse,
  RegisterAccountRequest,
  RegisterAccountResponse,
} from '@tessera/proto/tessera/session/v1/session';
import type { Secrets } from '@tessera/server-secret';
import { type Clock, createLogThrottle, type Logger, type LogThrottle } from '@tessera/service-kit';
import { parseTokenType } from '@tessera/spec-params';
import type { AggregateCache } from '../aggregate-cache.js';
import { accountOf, termsSubject } from '../aggregates.js';
import { type AccountHolder, accountHolder, unrecognisedToken } from '../domain/account.js';
import * as terms from '../domain/terms.js';
import { storedAccounts, USER_ID_FIELD } from '../events/account-events.js';
import { storedTerms } from '../events/terms-events.js';
import type { TermsDocument } from '../terms-file.js';
import { newAccessToken } from '../tokens.js';
import { checkAccessToken, checkServerName, serverOfUserId } from './request-checks.js';
import { loadAcceptances } from './terms-history.js';

/** What RegisterAccount needs of the federation client: the homeserver's word on an OpenID token. */
export interface OpenIdVerifier {
  getOpenIdUserInfo(serverName: string, accessToken: string): Promise<{ sub: string }>;
}

/** The holder of a valid token, opened: what Authenticate answers, and the key of their terms. */
export type AccountUser = { userId: string; userKey: string };

export interface AccountDeps {
  store: EventStore;
  /** Seals the user ID into AccountRegistered, and opens it again for Authenticate. */
  dataKeys: DataKeys;
  secrets: Secrets;
  openId: OpenIdVerifier;
  /** TESSERA_HOMESERVER_ALLOW: server names that may register; empty allows every server. */
  homeserverAllow: readonly string[];
  terms: TermsDocument;
  now: Clock;
  log: Logger;
  /**
   * Each account's user, opened (null: no valid token), by subject, kept current by every replica's
   * appends: Authenticate runs per request, so a user ID is opened once, then served from here.
   */
  accountStates: AggregateCache<AccountUser | null>;
  /** Terms states by subject, likewise. */
  termsStates: AggregateCache<terms.Terms>;
}

type Handler<Req, Res> = (request: Req) => Promise<Res>;

export interface AccountHandlers {
  registerAccount: Handler<RegisterAccountRequest, RegisterAccountResponse>;
  authenticate: Handler<AuthenticateRequest, AuthenticateResponse>;
  logout: Handler<LogoutRequest, LogoutResponse>;
}

// Sydent answers 403 M_UNAUTHORIZED when the homeserver may not, or did not, vouch for the user:
// the status says "refused", not "log in" (401 would send clients to look for an IS token).
const refused = (message: string) => new TesseraError('M_UNAUTHORIZED', message, { httpStatus: 403 });

export function accountHandlers({
  store,
  dataKeys,
  secrets,
  openId,
  homeserverAllow,
  terms: document,
  now,
  log,
  accountStates,
  termsStates,
}: AccountDeps): AccountHandlers {
  const allowed = new Set(homeserverAllow.map((name) => name.toLowerCase()));
  // Register needs no token: anyone can make the homeserver check fail, as often as they like.
  const homeserverRefusals = createLogThrottle(log);

  const userIdOf = async (holder: AccountHolder, aggregate: string): Promise<string | null> => {
    if ('plaintextUserId' in holder) return holder.plaintextUserId;
    const opened = await dataKeys.openField(aggregate, USER_ID_FIELD, holder.sealedUserId);
    return opened === null ? null : Buffer.from(opened).toString('utf8'); // null: the data key was erased
  };
  const loadUser = async ({ subject, aggregate }: ReturnType<typeof accountOf>): Promise<AccountUser | null> => {
    const holder = accountHolder((await loadState(store, subject, storedAccounts)).state);
    const userId = holder === null ? null : await userIdOf(holder, aggregate);
    return userId === null ? null : { userId, userKey: secrets.userKey(userId) };
  };
  const loadTerms = async (user: AccountUser) => storedTerms.stateOf(await loadAcceptances(store, user));

  return {
    registerAccount: async (request) => {
      parseTokenType(request.tokenType || undefined); // proto3: empty is unset
      const accessToken = checkAccessToken(request.accessToken);
      const matrixServerName = checkServerName(request.matrixServerName);
      if (allowed.size > 0 && !allowed.has(matrixServerName))
        throw refused('This homeserver may not register accounts on this identity server');
      const { sub } = await userInfo(openId, matrixServerName, accessToken, homeserverRefusals);
      if (serverOfUserId(sub) !== matrixServerName)
        throw refused('The homeserver vouched for a user who is not on that homeserver');

      const token = newAccessToken();
      const { subject, aggregate } = accountOf(token);
      await dataKeys.createKey(aggregate); // a new token: its account has no key yet
      const holder = {
        sealedUserId: await dataKeys.sealField(aggregate, USER_ID_FIELD, sub),
        userKey: secrets.userKey(sub),
      };
      const register = { type: 'RegisterAccount', holder, matrixServerName, now: now() } as const;
      const fresh = { state: storedAccounts.initial(), seq: 0 }; // a new token: no load needed
      await handleCommand(store, subject, storedAccounts, register, { assume: fresh });
      log.info({ matrixServerName }, 'account registered');
      return { token };
    },

    authenticate: async ({ token }) => {
      if (token === '') throw new TesseraError('M_UNAUTHORIZED', 'Missing access token');
      const account = accountOf(token);
      const user = await accountStates.get(account.subject, () => loadUser(account));
      if (user === null) throw unrecognisedToken();
      if (document.policies.length === 0) return { userId: user.userId, termsAccepted: true };
      const accepted = await termsStates.get(termsSubject(user.userKey), () => loadTerms(user));
      return { userId: user.userId, termsAccepted: terms.allAccepted(accepted, document.policies) };
    },

    logout: async ({ token }) => {
      if (token === '') throw new TesseraError('M_UNKNOWN_TOKEN', 'Missing access token');
      const { subject } = accountOf(token);
      try {
        await handleCommand(store, subject, storedAccounts, { type: 'Logout', now: now() } as const);
      } finally {
        accountStates.invalidate(subject); // at once here; other replicas drop it when the append reaches them
      }
      return {};
    },
  };
}

/**
 * The homeserver's answer. Its own Matrix errors (a rejected token, an unreachable server) pass on,
 * logged here once per server and kind, then counted; anything else becomes M_UNKNOWN with no
 * cause attached, because the cause may quote the userinfo URL, whose query holds the OpenID
 * access token, and causes are logged.
 */
async function userInfo(openId: OpenIdVerifier, serverName: string, accessToken: string, refusals: LogThrottle) {
  try {
    return await openId.getOpenIdUserInfo(serverName, accessToken);
  } catch (err) {
    const fields = { matrixServerName: serverName };
    if (err instanceof HomeserverFailure && err.failure === 'refused') {
      refusals.log('info', `${serverName} refused`, fields, 'homeserver name refused by the outbound guard');
    } else if (err instanceof HomeserverFailure) {
      const { failure, reason } = err;
      refusals.log('warn', `${serverName} ${failure}`, { ...fields, failure, reason }, err.message);
    } else if (err instanceof TesseraError && err.errcode === 'M_UNAUTHORIZED') {
      refusals.log('info', `${serverName} rejected`, fields, 'homeserver rejected an OpenID token');
    }
    if (err instanceof TesseraError) throw err;
    refusals.log(
      'warn',
      `${serverName} failed`,
      { ...fields, error: (err as Error)?.name },
      'OpenID userinfo check failed',
    );
    throw new TesseraError('M_UNKNOWN', 'Could not check the OpenID token with the homeserver');
  }
}

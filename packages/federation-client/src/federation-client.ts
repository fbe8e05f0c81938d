import { lookup, Resolver } from 'node:dns/promises';
import { TesseraError } from '@tessera/errors';
import { createDiscovery, type SrvResolver } from './discovery.js';
import { guardedGet, type HttpsResponse, type HttpsTarget, type LookupAll } from './guarded-request.js';
import { type FederationLogger, silentLogger } from './logger.js';
import { rejectsToken, subOf, USERINFO_PATH } from './openid-userinfo.js';
import { OutboundError } from './outbound-error.js';
import { OutboundGuard } from './outbound-guard.js';
import { createWellKnownFetcher, type HttpsGet } from './well-known.js';

/** How names become addresses; tests replace either part. */
export interface OutboundResolver {
  /** Every address of a host name (default: dns.lookup, all, in the system's order). */
  lookup: LookupAll;
  /** SRV records (default: c-ares with a short timeout). */
  resolveSrv: SrvResolver;
}

export interface FederationClientOptions {
  /** TESSERA_OUTBOUND_ALLOW: CIDRs reachable despite the private-address guard. */
  allowCidrs: readonly string[];
  /** TESSERA_OUTBOUND_VERIFY_TLS. */
  verifyTls: boolean;
  /** A PEM CA trusted besides the system's. */
  ca?: string;
  /** One deadline per call, discovery included. Default 10 s. */
  timeoutMs?: number;
  log?: FederationLogger;
  resolver?: Partial<OutboundResolver>;
  now?: () => number;
}

export interface FederationClient {
  /**
   * The user an OpenID access token belongs to, asked of the homeserver that issued it.
   * Throws 400 M_INVALID_PARAM (bad server name, or one whose addresses the guard refuses), 401
   * M_UNAUTHORIZED (token rejected),
   * 502 M_UNKNOWN (homeserver unreachable, or its reply unusable). Checking that `sub` belongs to
   * `serverName` is the caller's business.
   */
  getOpenIdUserInfo(serverName: string, accessToken: string): Promise<{ sub: string }>;
  /** Where requests for `serverName` go (server discovery, cached). */
  resolve(serverName: string): Promise<HttpsTarget>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const BAD_REPLY_FAILURES = new Set<string>(['too-large', 'not-json', 'unexpected-reply']);

/** The one way out to homeservers: every request is discovered, guarded, TLS-checked and bounded in time. */
export function createFederationClient(options: FederationClientOptions): FederationClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = options.log ?? silentLogger;
  const system = systemResolver();
  const resolver: OutboundResolver = {
    lookup: options.resolver?.lookup ?? system.lookup,
    resolveSrv: options.resolver?.resolveSrv ?? system.resolveSrv,
  };
  const guard = new OutboundGuard(options.allowCidrs);
  const get: HttpsGet = (target, path, signal) =>
    guardedGet(target, path, { guard, lookup: resolver.lookup, verifyTls: options.verifyTls, ca: options.ca, signal });
  const discovery = createDiscovery({
    fetchWellKnown: createWellKnownFetcher(get),
    resolveSrv: resolver.resolveSrv,
    now: options.now ?? Date.now,
  });

  /**
   * A server name that leads only to addresses the guard refuses (loopback, private ranges) is the
   * caller's bad input: 400, and the same answer whatever the name, so that it tells nothing about
   * the network behind us. Every other failure on the way is a 502 (the fault is upstream); the
   * details go to the log, where an operator reads them.
   */
  function homeserverFailure(serverName: string, err: unknown): TesseraError {
    const failure = err instanceof OutboundError ? err.failure : 'internal';
    if (failure === 'refused') {
      log.info({ serverName, failure }, 'homeserver name refused by the outbound guard');
      return new TesseraError('M_INVALID_PARAM', 'matrix_server_name does not name a reachable public homeserver', {
        cause: err,
      });
    }
    const message = BAD_REPLY_FAILURES.has(failure) ? 'invalid reply from the homeserver' : 'homeserver unreachable';
    log.warn({ serverName, failure, reason: err instanceof Error ? err.message : String(err) }, message);
    return new TesseraError('M_UNKNOWN', message, { httpStatus: 502, cause: err });
  }

  return {
    resolve: (serverName) => discovery.resolve(serverName, AbortSignal.timeout(timeoutMs)),

    async getOpenIdUserInfo(serverName, accessToken) {
      const signal = AbortSignal.timeout(timeoutMs);
      const target = await discovery.resolve(serverName, signal);
      // The token travels in the query string: the path is never logged, nor put in an error.
      const path = `${USERINFO_PATH}?access_token=${encodeURIComponent(accessToken)}`;
      let response: HttpsResponse;
      try {
        response = await get(target, path, signal);
      } catch (err) {
        throw homeserverFailure(serverName, err);
      }
      if (rejectsToken(response)) {
        log.info({ serverName, status: response.status }, 'homeserver rejected an OpenID token');
        throw new TesseraError('M_UNAUTHORIZED', 'the homeserver rejected the OpenID token');
      }
      try {
        return { sub: subOf(response) };
      } catch (err) {
        throw homeserverFailure(serverName, err);
      }
    },
  };
}

function systemResolver(): OutboundResolver {
  const srvResolver = new Resolver({ timeout: 3_000, tries: 2 });
  return {
    lookup: (hostname) => lookup(hostname, { all: true, verbatim: true }),
    resolveSrv: (name) => srvResolver.resolveSrv(name),
  };
}

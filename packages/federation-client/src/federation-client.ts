import { lookup, Resolver } from 'node:dns/promises';
import { TesseraError } from '@tessera/errors';
import { createDiscovery, type SrvResolver } from './discovery.js';
import {
  type GuardedRequestOptions,
  guardedRequest,
  type HttpsResponse,
  type HttpsTarget,
  type LookupAll,
  type OutboundRequest,
} from './guarded-request.js';
import { parseJsonBody } from './json-body.js';
import { rejectsToken, subOf, USERINFO_PATH } from './openid-userinfo.js';
import { HomeserverFailure, OutboundError } from './outbound-error.js';
import { OutboundGuard } from './outbound-guard.js';
import { readServerKeys, SERVER_KEYS_PATH, type ServerKeys } from './server-keys.js';
import { createWellKnownFetcher } from './well-known.js';

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
  resolver?: Partial<OutboundResolver>;
  now?: () => number;
}

export interface FederationClient {
  /**
   * The user an OpenID access token belongs to, asked of the homeserver that issued it.
   * Throws 400 M_INVALID_PARAM (a bad server name, or one whose addresses the guard refuses),
   * 401 M_UNAUTHORIZED (token rejected), or HomeserverFailure: 400 M_INVALID_PARAM for a name the
   * guard refuses, else 502 M_UNKNOWN (homeserver unreachable, or its reply unusable). Checking
   * that `sub` belongs to `serverName` is the caller's business, and so is logging: anyone can make
   * these fail at will, so the caller decides how much of it to write down.
   */
  getOpenIdUserInfo(serverName: string, accessToken: string): Promise<{ sub: string }>;
  /** Where requests for `serverName` go (server discovery, cached). */
  resolve(serverName: string): Promise<HttpsTarget>;
  /**
   * The keys `serverName` publishes at /_matrix/key/v2/server, checked (readServerKeys), not
   * cached: a Keyring caches them. Throws OutboundError (unreachable, refused by the guard, or an
   * unusable reply) or, for a malformed name, 400 M_INVALID_PARAM.
   */
  getServerKeys(serverName: string): Promise<ServerKeys>;
  /**
   * Sends `json` with `method` to `path` on `serverName`'s server and answers the reply's status,
   * whatever it is, as soon as it comes: what a status means is the caller's protocol. The body
   * is drained afterwards (up to 64 KiB, cut off beyond) and dropped; nothing in it can fail the
   * call. Throws OutboundError (unreachable, refused by the guard, timed out, given up through
   * `signal`) or, for a malformed name, 400 M_INVALID_PARAM.
   */
  sendJson(serverName: string, request: JsonRequest, options?: SendOptions): Promise<{ status: number }>;
}

/** A request with a JSON body (sendJson). */
export type JsonRequest = { method: 'POST' | 'PUT'; path: string; json: string };

export type SendOptions = {
  /**
   * How long the request may take once its server is found, up to the reply's status (default:
   * the client's timeoutMs, which always bounds discovery): a request the other server works on
   * at length (Synapse's onbind does federation work per invite) gets its own.
   */
  timeoutMs?: number;
  /** Gives the call up when it aborts (an 'aborted' OutboundError): a service that stops. */
  signal?: AbortSignal;
};

const DEFAULT_TIMEOUT_MS = 10_000;
/** A key response lists a few keys; Sydent reads at most 50 KiB of one. */
const MAX_KEY_RESPONSE_BYTES = 64 * 1024;
/** sendJson's callers want the status only; a reply's body is drained up to this, and cut off beyond. */
const MAX_SEND_RESPONSE_BYTES = 64 * 1024;

/** The one way out to homeservers: every request is discovered, guarded, TLS-checked and bounded in time. */
export function createFederationClient(options: FederationClientOptions): FederationClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const system = systemResolver();
  const resolver: OutboundResolver = {
    lookup: options.resolver?.lookup ?? system.lookup,
    resolveSrv: options.resolver?.resolveSrv ?? system.resolveSrv,
  };
  const guard = new OutboundGuard(options.allowCidrs);
  const now = options.now ?? Date.now;
  const send = (
    target: HttpsTarget,
    request: OutboundRequest,
    signal: AbortSignal,
    reading: Pick<GuardedRequestOptions, 'maxBodyBytes' | 'statusOnly'> = {},
  ) =>
    guardedRequest(target, request, {
      guard,
      lookup: resolver.lookup,
      verifyTls: options.verifyTls,
      ca: options.ca,
      signal,
      ...reading,
    });
  const get = (target: HttpsTarget, path: string, signal: AbortSignal, maxBodyBytes?: number) =>
    send(target, { method: 'GET', path }, signal, { maxBodyBytes });
  const discovery = createDiscovery({
    fetchWellKnown: createWellKnownFetcher(get),
    resolveSrv: resolver.resolveSrv,
    now,
  });

  return {
    resolve: (serverName) => discovery.resolve(serverName, AbortSignal.timeout(timeoutMs)),

    async getOpenIdUserInfo(serverName, accessToken) {
      const signal = AbortSignal.timeout(timeoutMs);
      let target: HttpsTarget;
      try {
        target = await discovery.resolve(serverName, signal);
      } catch (err) {
        if (err instanceof TesseraError) throw err; // a malformed server name
        throw new HomeserverFailure(serverName, err);
      }
      // The token travels in the query string: the path is never logged, nor put in an error.
      const path = `${USERINFO_PATH}?access_token=${encodeURIComponent(accessToken)}`;
      let response: HttpsResponse;
      try {
        response = await get(target, path, signal);
      } catch (err) {
        throw new HomeserverFailure(serverName, err);
      }
      if (rejectsToken(response)) throw new TesseraError('M_UNAUTHORIZED', 'the homeserver rejected the OpenID token');
      try {
        return { sub: subOf(response) };
      } catch (err) {
        throw new HomeserverFailure(serverName, err);
      }
    },

    async getServerKeys(serverName) {
      const signal = AbortSignal.timeout(timeoutMs);
      const target = await discovery.resolve(serverName, signal);
      const response = await get(target, SERVER_KEYS_PATH, signal, MAX_KEY_RESPONSE_BYTES);
      if (response.status !== 200)
        throw new OutboundError(
          'unexpected-reply',
          `${response.from} answered its keys with status ${response.status}`,
        );
      return readServerKeys(parseJsonBody(response), serverName, now());
    },

    async sendJson(serverName, request, { timeoutMs: requestTimeoutMs = timeoutMs, signal: given } = {}) {
      const within = (ms: number) =>
        given === undefined ? AbortSignal.timeout(ms) : AbortSignal.any([AbortSignal.timeout(ms), given]);
      const target = await discovery.resolve(serverName, within(timeoutMs));
      const reading = { maxBodyBytes: MAX_SEND_RESPONSE_BYTES, statusOnly: true };
      const { status } = await send(target, request, within(requestTimeoutMs), reading);
      return { status };
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

import { isIP } from 'node:net';
import type { HttpsResponse, HttpsTarget } from './guarded-request.js';
import { parseJsonBody } from './json-body.js';
import { OutboundError } from './outbound-error.js';

/** One guarded GET; the federation client binds guardedGet to its options. */
export type HttpsGet = (target: HttpsTarget, path: string, signal: AbortSignal) => Promise<HttpsResponse>;

export interface WellKnownResponse {
  status: number;
  cacheControl: string | undefined;
  /** Parsed JSON for a 200, else undefined. */
  body: unknown;
}

/** Fetches `https://<hostname>/.well-known/matrix/server`; throws when no usable answer came back. */
export type WellKnownFetcher = (hostname: string, signal: AbortSignal) => Promise<WellKnownResponse>;

const WELL_KNOWN_PATH = '/.well-known/matrix/server';
const MAX_REDIRECTS = 3; // the spec asks to follow 30x while avoiding loops; a few hops is plenty
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function createWellKnownFetcher(get: HttpsGet): WellKnownFetcher {
  return async (hostname, signal) => {
    let url = new URL(`https://${hostname}${WELL_KNOWN_PATH}`);
    for (let redirects = 0; ; redirects++) {
      const response = await get(targetOf(url), `${url.pathname}${url.search}`, signal);
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.status) || location === undefined) {
        const cacheControl = response.headers['cache-control'];
        const body = response.status === 200 ? parseJsonBody(response) : undefined;
        return { status: response.status, cacheControl, body };
      }
      if (redirects === MAX_REDIRECTS)
        throw new OutboundError('redirect', `${hostname}: more than ${MAX_REDIRECTS} redirects for its well-known`);
      url = new URL(location, url);
      // Each hop goes through the guard again in `get`; plain http would drop TLS.
      if (url.protocol !== 'https:')
        throw new OutboundError('redirect', `${hostname}: well-known redirected off https`);
    }
  };
}

function targetOf(url: URL): HttpsTarget {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: url.port === '' ? 443 : Number(url.port),
    hostHeader: url.host,
    tlsServerName: isIP(host) === 0 ? host : undefined,
  };
}

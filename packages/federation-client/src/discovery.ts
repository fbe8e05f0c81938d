import type { SrvRecord } from 'node:dns';
import type { HttpsTarget } from './guarded-request.js';
import { raceAbort } from './race-abort.js';
import { parseServerName, type ServerName } from './server-name.js';
import { TtlCache } from './ttl-cache.js';
import type { WellKnownFetcher } from './well-known.js';

/** SRV records; a resolver that knows their TTL (node's does not) may say it, in seconds. */
export type SrvResolver = (name: string) => Promise<Array<SrvRecord & { ttl?: number }>>;

export interface DiscoveryOptions {
  fetchWellKnown: WellKnownFetcher;
  resolveSrv: SrvResolver;
  /** Milliseconds since the epoch; injected so tests can expire the caches. */
  now: () => number;
}

export interface Discovery {
  /** Where to send requests for `serverName`; 400 M_INVALID_PARAM for a malformed name. */
  resolve(serverName: string, signal: AbortSignal): Promise<HttpsTarget>;
}

const DEFAULT_PORT = 8448;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const WELL_KNOWN_TTL = { defaultMs: 24 * HOUR_MS, minMs: HOUR_MS, maxMs: 48 * HOUR_MS };
const FAILURE_TTL_MS = 10 * MINUTE_MS; // a missing well-known or SRV record: look again after this
const SRV_DEFAULT_TTL_MS = HOUR_MS;
const SRV_SERVICES = ['_matrix-fed._tcp', '_matrix._tcp']; // the second is deprecated, still deployed
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA']); // an answer, unlike a timeout or SERVFAIL

type SrvTarget = { name: string; port: number };

/** Matrix server discovery, per the server-server spec's "Resolving server names". */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const delegations = new TtlCache<ServerName | null>(options.now); // null: no usable well-known
  const srvTargets = new TtlCache<SrvTarget | null>(options.now); // null: no record

  async function delegationOf(hostname: string, signal: AbortSignal): Promise<ServerName | null> {
    const cached = delegations.get(hostname);
    if (cached !== undefined) return cached;
    try {
      const response = await options.fetchWellKnown(hostname, signal);
      const delegated = response.status === 200 ? mServerOf(response.body) : undefined;
      if (delegated !== undefined) {
        delegations.set(hostname, delegated, wellKnownTtlMs(response.cacheControl));
        return delegated;
      }
    } catch {
      // Unreachable, refused, not JSON: the spec treats every failure like a missing well-known.
    }
    delegations.set(hostname, null, FAILURE_TTL_MS);
    return null;
  }

  async function srvTargetOf(hostname: string, signal: AbortSignal): Promise<SrvTarget | null> {
    for (const service of SRV_SERVICES) {
      const name = `${service}.${hostname}`;
      let target = srvTargets.get(name);
      if (target === undefined) target = await lookUpSrv(name, signal);
      if (target !== null) return target;
    }
    return null;
  }

  async function lookUpSrv(name: string, signal: AbortSignal): Promise<SrvTarget | null> {
    try {
      const records = await raceAbort(options.resolveSrv(name), signal, () => new Error('deadline passed'));
      const best = bestSrv(records);
      srvTargets.set(name, best, best === null ? FAILURE_TTL_MS : srvTtlMs(records));
      return best;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && NOT_FOUND_CODES.has(code)) srvTargets.set(name, null, FAILURE_TTL_MS);
      return null; // a timeout or SERVFAIL is not remembered: the next call asks again
    }
  }

  /** Found by name (SRV, else port 8448): Host and certificate are that name, whatever SRV points at. */
  async function byHostname(hostname: string, signal: AbortSignal): Promise<HttpsTarget> {
    const srv = await srvTargetOf(hostname, signal);
    return {
      host: srv?.name ?? hostname,
      port: srv?.port ?? DEFAULT_PORT,
      hostHeader: hostname,
      tlsServerName: hostname,
    };
  }

  return {
    async resolve(serverName, signal) {
      const name = parseServerName(serverName);
      if (name.ipLiteral || name.port !== undefined) return explicitTarget(name);
      const delegated = await delegationOf(name.hostname, signal);
      if (delegated === null) return byHostname(name.hostname, signal);
      if (delegated.ipLiteral || delegated.port !== undefined) return explicitTarget(delegated);
      return byHostname(delegated.hostname, signal);
    },
  };
}

/** An IP literal or a name with a port: no well-known, no SRV; the Host header is the name as written. */
function explicitTarget(name: ServerName): HttpsTarget {
  return {
    host: name.hostname,
    port: name.port ?? DEFAULT_PORT,
    hostHeader: name.text,
    tlsServerName: name.ipLiteral ? undefined : name.hostname,
  };
}

function mServerOf(body: unknown): ServerName | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const mServer = (body as Record<string, unknown>)['m.server'];
  if (typeof mServer !== 'string') return undefined;
  try {
    return parseServerName(mServer);
  } catch {
    return undefined; // an invalid m.server is an invalid well-known: fall back as if there were none
  }
}

/** Cache-Control max-age, kept within 1 h..48 h so a server can neither pin us nor make us ask every time. */
function wellKnownTtlMs(cacheControl: string | undefined): number {
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(cacheControl ?? '')?.[1];
  if (maxAge === undefined) return WELL_KNOWN_TTL.defaultMs;
  return Math.min(WELL_KNOWN_TTL.maxMs, Math.max(WELL_KNOWN_TTL.minMs, Number(maxAge) * 1000));
}

/** Lowest priority first, then the heaviest weight; a target of "." means "no service here" (RFC 2782). */
function bestSrv(records: SrvRecord[]): SrvTarget | null {
  const usable = records
    .map((record) => ({ ...record, name: record.name.replace(/\.$/, '') }))
    .filter((record) => record.name !== '' && record.port > 0);
  usable.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  const [best] = usable;
  return best === undefined ? null : { name: best.name.toLowerCase(), port: best.port };
}

function srvTtlMs(records: Array<{ ttl?: number }>): number {
  const ttls = records.flatMap((record) => (record.ttl === undefined ? [] : [record.ttl]));
  return ttls.length === 0 ? SRV_DEFAULT_TTL_MS : Math.min(...ttls) * 1000;
}

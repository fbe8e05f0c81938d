import { TesseraError } from '@tessera/errors';
import { OutboundError } from './outbound-error.js';
import type { ServerKeys } from './server-keys.js';
import { TtlCache } from './ttl-cache.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

export interface KeyringOptions {
  /** Fetches and checks a server's keys (FederationClient.getServerKeys); throws OutboundError. */
  fetchServerKeys: (serverName: string) => Promise<ServerKeys>;
  now: () => number;
  /** How many servers' keys (or failures) are remembered at once. */
  maxServers?: number;
}

/** The public keys of other servers, fetched when needed and kept while they are valid. */
export interface Keyring {
  /** The key `keyId` of `serverName`, valid now; throws XMatrixRefusal. */
  verifyKey(serverName: string, keyId: string): Promise<Uint8Array>;
}

// Anyone can send a request naming any origin and any key id, so each origin is asked at most
// once a minute when it failed, or to look for a key id its cached answer lacks (a rotated key).
const RETRY_AFTER_MS = 60_000;

/** A server's keys and when we last asked for them, or why asking failed. */
type Remembered = { keys: ServerKeys; askedAt: number } | { failure: XMatrixRefusal };

/**
 * Keys cached until their validity ends (bounded, oldest dropped first); concurrent requests for
 * one server share one fetch; a failed fetch is remembered for a minute, so a flood of forged
 * requests cannot make us hammer a server. A failed refetch (for a key id the cached answer
 * lacks) keeps the keys we had: forged key ids must not cost the real ones.
 */
export function createKeyring(options: KeyringOptions): Keyring {
  const { now } = options;
  const remembered = new TtlCache<Remembered>(now, options.maxServers);
  const inFlight = new Map<string, Promise<ServerKeys>>();

  function fetchOnce(serverName: string, previous: ServerKeys | undefined): Promise<ServerKeys> {
    const running = inFlight.get(serverName);
    if (running !== undefined) return running;
    const fetching = fetchAndRemember(serverName, previous).finally(() => inFlight.delete(serverName));
    inFlight.set(serverName, fetching);
    return fetching;
  }

  async function fetchAndRemember(serverName: string, previous: ServerKeys | undefined): Promise<ServerKeys> {
    let keys: ServerKeys;
    try {
      keys = await options.fetchServerKeys(serverName);
    } catch (err) {
      const failure = refusalFor(serverName, err);
      if (previous !== undefined && previous.usableUntil > now())
        remembered.set(serverName, { keys: previous, askedAt: now() }, previous.usableUntil - now());
      else remembered.set(serverName, { failure }, RETRY_AFTER_MS);
      throw failure;
    }
    // Keys already expired are kept for a minute too: asking again at once would get the same.
    const lifetime = keys.usableUntil - now();
    remembered.set(serverName, { keys, askedAt: now() }, lifetime > 0 ? lifetime : RETRY_AFTER_MS);
    return keys;
  }

  return {
    async verifyKey(serverName, keyId) {
      const known = remembered.get(serverName);
      if (known !== undefined && 'failure' in known) throw known.failure;
      if (known === undefined) return keyOf(await fetchOnce(serverName, undefined), keyId, now());
      const lacksKey = !known.keys.verifyKeys.has(keyId) && now() - known.askedAt >= RETRY_AFTER_MS;
      const keys = lacksKey ? await fetchOnce(serverName, known.keys) : known.keys;
      return keyOf(keys, keyId, now());
    },
  };
}

function keyOf(keys: ServerKeys, keyId: string, now: number): Uint8Array {
  const key = keys.verifyKeys.get(keyId);
  if (key !== undefined && keys.usableUntil > now) return key;
  if (key !== undefined || keys.oldKeyIds.has(keyId))
    throw new XMatrixRefusal('expired-key', `${keyId} of ${keys.serverName} is no longer valid`);
  throw new XMatrixRefusal('unknown-key', `${keys.serverName} publishes no key ${keyId}`);
}

function refusalFor(serverName: string, err: unknown): XMatrixRefusal {
  if (err instanceof XMatrixRefusal) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof OutboundError) {
    if (err.failure === 'refused') return new XMatrixRefusal('origin-refused', detail, { cause: err });
    if (BAD_REPLY.has(err.failure)) return new XMatrixRefusal('bad-key-response', detail, { cause: err });
    return new XMatrixRefusal('origin-unreachable', detail, { cause: err });
  }
  // A malformed server name; the header parser lets none through, so this is a guard.
  if (err instanceof TesseraError) return new XMatrixRefusal('malformed', `${serverName}: ${detail}`, { cause: err });
  throw err; // a bug of ours, not a refusal
}

const BAD_REPLY: ReadonlySet<string> = new Set(['too-large', 'not-json', 'unexpected-reply', 'redirect']);

import { isPlainObject, PUBLIC_KEY_LENGTH, tryDecodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { OutboundError } from './outbound-error.js';

/** What a homeserver's `GET /_matrix/key/v2/server` vouches for, once checked. */
export interface ServerKeys {
  serverName: string;
  /** Keys that may sign requests: key id → raw ed25519 public key. */
  verifyKeys: ReadonlyMap<string, Uint8Array>;
  /** Retired key ids (`old_verify_keys`): the spec lets them vouch for old events only, never a request. */
  oldKeyIds: ReadonlySet<string>;
  /** Until when `verifyKeys` may be used: `valid_until_ts`, but never more than 7 days after it was read. */
  usableUntil: number;
}

export const SERVER_KEYS_PATH = '/_matrix/key/v2/server';
/** Servers MUST use the lesser of valid_until_ts and 7 days into the future (server-server spec, Server Keys). */
const MAX_VALIDITY_MS = 7 * 24 * 3_600_000;
const ED25519 = 'ed25519:';

/**
 * Checks a key response as Synapse's keyring does, and more strictly than Sydent (which checks
 * neither the name nor the response's own signature): `server_name` must be the server asked, the
 * response must be signed by that server with at least one key it lists in `verify_keys`, and
 * every such signature must verify; `valid_until_ts` must be an integer. Keys of other algorithms,
 * or not 32 bytes of base64, are left out. Throws OutboundError 'unexpected-reply' otherwise.
 */
export function readServerKeys(body: unknown, serverName: string, now: number): ServerKeys {
  const from = `the key response of ${serverName}`;
  const bad = (why: string) => new OutboundError('unexpected-reply', `${from}: ${why}`);
  if (!isPlainObject(body)) throw bad('not a JSON object');
  if (body.server_name !== serverName) throw bad('server_name is not the server asked');
  const validUntil = body.valid_until_ts;
  if (!Number.isSafeInteger(validUntil)) throw bad('valid_until_ts is not an integer');
  if (!isPlainObject(body.verify_keys)) throw bad('verify_keys is not an object');
  const verifyKeys = ed25519Keys(body.verify_keys);

  const signatures = isPlainObject(body.signatures) ? body.signatures[serverName] : undefined;
  const selfSigned = isPlainObject(signatures) ? Object.keys(signatures).filter((id) => verifyKeys.has(id)) : [];
  if (selfSigned.length === 0) throw bad('not signed by any key it lists');
  for (const keyId of selfSigned) {
    const publicKey = verifyKeys.get(keyId) ?? new Uint8Array();
    if (!verifyJsonSignature(body, { entity: serverName, keyId, publicKey })) throw bad(`bad signature by ${keyId}`);
  }

  const oldKeys = isPlainObject(body.old_verify_keys) ? Object.keys(body.old_verify_keys) : [];
  return {
    serverName,
    verifyKeys,
    oldKeyIds: new Set(oldKeys.filter((id) => !verifyKeys.has(id))),
    usableUntil: Math.min(validUntil as number, now + MAX_VALIDITY_MS),
  };
}

function ed25519Keys(entries: Record<string, unknown>): Map<string, Uint8Array> {
  const keys = new Map<string, Uint8Array>();
  for (const [keyId, entry] of Object.entries(entries)) {
    if (!keyId.startsWith(ED25519) || !isPlainObject(entry) || typeof entry.key !== 'string') continue;
    const publicKey = tryDecodeBase64(entry.key);
    if (publicKey?.length === PUBLIC_KEY_LENGTH) keys.set(keyId, publicKey);
  }
  return keys;
}

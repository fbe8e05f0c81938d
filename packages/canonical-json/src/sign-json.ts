import { encodeBase64, tryDecodeBase64 } from './base64.js';
import { CanonicalJsonError, canonicalJson, isPlainObject } from './canonical-json.js';
import { signDetached, verifyDetached } from './ed25519.js';

/** `signatures[entity][keyId]` = unpadded base64 signature; the entity is a server name such as `matrix.org`. */
export type Signatures = Record<string, Record<string, string>>;
export type SignJsonOptions = {
  entity: string;
  keyId: string;
  seed: Uint8Array;
  /** A seed used once (sign-ed25519's): no key object is kept for it (ed25519.ts signDetached). */
  oneOff?: boolean;
};
export type VerifyJsonOptions = { entity: string; keyId?: string; publicKey: Uint8Array };

// ed25519 is the only algorithm the spec defines; the version after the colon is [a-zA-Z0-9_].
const KNOWN_ALGORITHM = 'ed25519';
const SIGNING_KEY_ID = /^ed25519:[A-Za-z0-9_]+$/;
const utf8 = new TextEncoder();

/**
 * Returns a copy of `obj` with `signatures[entity][keyId]` added (spec appendix "Signing JSON"). Other signatures
 * are kept; `signatures` and `unsigned` are left out of what is signed, and `unsigned` is put back unchanged.
 * Throws CanonicalJsonError if the content has no canonical form (a float, say): better than signing a guess.
 */
export function signJson<T extends object>(
  obj: T,
  { entity, keyId, seed, oneOff = false }: SignJsonOptions,
): T & { signatures: Signatures } {
  if (!isPlainObject(obj)) throw new TypeError('signJson signs plain JSON objects only');
  if (!SIGNING_KEY_ID.test(keyId))
    throw new RangeError(`cannot sign with key id "${keyId}": expected ed25519:<version>`);
  const { content, signatures, unsigned, hasUnsigned } = splitSigned(obj);
  if (signatures !== undefined && !isPlainObject(signatures))
    throw new TypeError('existing signatures are not an object');
  const entitySignatures = signatures === undefined ? undefined : ownValue(signatures, entity);
  if (entitySignatures !== undefined && !isPlainObject(entitySignatures)) {
    throw new TypeError(`existing signatures for ${entity} are not an object`);
  }
  const signature = encodeBase64(signDetached(utf8.encode(canonicalJson(content)), seed, { keep: !oneOff }));
  // Computed keys define own properties, so even an entity named "__proto__" cannot reach a prototype.
  const signed = { ...content, signatures: { ...signatures, [entity]: { ...entitySignatures, [keyId]: signature } } };
  return (hasUnsigned ? { ...signed, unsigned } : signed) as T & { signatures: Signatures };
}

/**
 * Checks `obj`'s signature by `entity` against `publicKey`, following the spec's verification steps. With `keyId`,
 * only that key id's signature counts; without, any ed25519 signature by the entity that verifies is enough (they
 * are all checked against the one key given). Returns false for anything wrong with the input, never throws: the
 * object comes from a peer.
 */
export function verifyJsonSignature(obj: unknown, { entity, keyId, publicKey }: VerifyJsonOptions): boolean {
  if (!isPlainObject(obj)) return false;
  const { content, signatures } = splitSigned(obj);
  const entitySignatures = isPlainObject(signatures) ? ownValue(signatures, entity) : undefined;
  if (!isPlainObject(entitySignatures)) return false;
  const candidates = Object.entries(entitySignatures).filter(
    ([id]) => algorithmOf(id) === KNOWN_ALGORITHM && (keyId === undefined || id === keyId),
  );
  if (candidates.length === 0) return false;
  const message = canonicalBytes(content);
  if (message === undefined) return false;
  return candidates.some(([, encoded]) => {
    const signature = decodeSignature(encoded);
    return signature !== undefined && verifyDetached(message, signature, publicKey);
  });
}

function splitSigned(obj: Record<string, unknown>) {
  const { signatures, unsigned, ...content } = obj;
  return { content, signatures, unsigned, hasUnsigned: Object.hasOwn(obj, 'unsigned') };
}

function algorithmOf(keyId: string): string {
  const colon = keyId.indexOf(':');
  return colon === -1 ? keyId : keyId.slice(0, colon);
}

function ownValue(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function canonicalBytes(content: Record<string, unknown>): Uint8Array | undefined {
  try {
    return utf8.encode(canonicalJson(content));
  } catch (err) {
    // A float nobody could have signed, or nesting deep enough to exhaust the stack: unverifiable either way.
    if (err instanceof CanonicalJsonError || err instanceof RangeError) return undefined;
    throw err;
  }
}

function decodeSignature(encoded: unknown): Uint8Array | undefined {
  return typeof encoded === 'string' ? tryDecodeBase64(encoded) : undefined;
}

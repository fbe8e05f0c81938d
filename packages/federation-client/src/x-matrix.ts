import {
  CanonicalJsonError,
  canonicalJson,
  SIGNATURE_LENGTH,
  tryDecodeBase64,
  verifyDetached,
} from '@tessera/canonical-json';
import type { Keyring } from './keyring.js';
import { parseXMatrixHeaders, type XMatrixCredential } from './x-matrix-header.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

/** A request as received, with what its signature covers. */
export interface SignedRequest {
  /** `POST`. */
  method: string;
  /** The request target exactly as received: path and query, not decoded (Express: `req.originalUrl`). */
  uri: string;
  /**
   * Every Authorization header. In Node use `req.headersDistinct.authorization`: `req.headers`
   * keeps only the first of repeated Authorization headers, and a homeserver with several keys
   * sends one header per key.
   */
  authorization: readonly string[] | string | undefined;
  /** The parsed JSON body; undefined when there was none (then the signed JSON has no `content`). */
  content: unknown;
}

export interface XMatrixVerifier {
  /** The origin server whose signature the request carries; throws XMatrixRefusal. */
  verifyXMatrix(request: SignedRequest): Promise<string>;
}

const utf8 = new TextEncoder();

/**
 * Verifies homeserver-signed requests to an identity server (`POST /3pid/unbind`). The JSON a
 * homeserver signs for an identity server names it `destination_is`, not `destination` (Synapse
 * since 2018, Sydent's check): `{method, uri, origin, destination_is, content}`, where
 * `destination_is` is the identity server's name as the homeserver knows it, which must be our
 * `serverName` (TESSERA_SERVER_NAME). The header's own `destination` parameter (spec v1.3, Synapse
 * 1.58) is optional, for older homeservers, and refused when present and not `serverName`.
 *
 * Several headers are several signatures of one origin (one per key); as in Synapse, a signature
 * by a key id the origin does not publish is skipped, every other must verify, and at least one
 * must. Checks that need no network come first, so a forged request costs no key fetch when it
 * can be refused without one.
 */
export function createXMatrixVerifier({
  serverName,
  keyring,
}: {
  serverName: string;
  keyring: Keyring;
}): XMatrixVerifier {
  return {
    async verifyXMatrix(request) {
      const credentials = parseXMatrixHeaders(request.authorization);
      const origin = onlyOrigin(credentials);
      for (const { destination } of credentials) {
        if (destination !== undefined && destination !== serverName)
          throw new XMatrixRefusal('wrong-destination', `signed for ${destination}`);
      }
      const signatures = credentials.map(({ keyId, signature }) => ({ keyId, signature: decodeSignature(signature) }));
      const message = signedBytes(request, origin, serverName);

      let verified = false;
      let skipped: XMatrixRefusal | undefined;
      for (const { keyId, signature } of signatures) {
        let publicKey: Uint8Array;
        try {
          publicKey = await keyring.verifyKey(origin, keyId);
        } catch (err) {
          if (!(err instanceof XMatrixRefusal) || (err.reason !== 'unknown-key' && err.reason !== 'expired-key'))
            throw err;
          skipped ??= err;
          continue;
        }
        if (!verifyDetached(message, signature, publicKey))
          throw new XMatrixRefusal('bad-signature', `the signature by ${keyId} of ${origin} does not verify`);
        verified = true;
      }
      if (!verified) throw skipped ?? new XMatrixRefusal('unknown-key', `no usable key of ${origin}`);
      return origin;
    },
  };
}

/** Every header must name one origin: a request is signed by one server. */
function onlyOrigin(credentials: XMatrixCredential[]): string {
  const [first, ...others] = credentials.map((credential) => credential.origin);
  if (first === undefined || others.some((origin) => origin !== first))
    throw new XMatrixRefusal('malformed', 'X-Matrix headers name different origins');
  return first;
}

function decodeSignature(text: string): Uint8Array {
  const signature = tryDecodeBase64(text);
  if (signature?.length !== SIGNATURE_LENGTH)
    throw new XMatrixRefusal('bad-signature', 'sig is not an ed25519 signature');
  return signature;
}

/** The canonical JSON the origin signed; content without a canonical form (a float) cannot have been signed. */
function signedBytes(request: SignedRequest, origin: string, serverName: string): Uint8Array {
  const signed: Record<string, unknown> = {
    method: request.method,
    uri: request.uri,
    origin,
    destination_is: serverName,
  };
  if (request.content !== undefined) signed.content = request.content;
  try {
    return utf8.encode(canonicalJson(signed));
  } catch (err) {
    if (err instanceof CanonicalJsonError || err instanceof RangeError)
      throw new XMatrixRefusal('bad-signature', 'the body has no canonical JSON form', { cause: err });
    throw err;
  }
}

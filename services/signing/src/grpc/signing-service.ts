import {
  CanonicalJsonError,
  encodeBase64Url,
  generateSeed,
  keyPairFromSeed,
  SEED_LENGTH,
  signJson,
  tryDecodeBase64,
} from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import type {
  GenerateEphemeralKeypairRequest,
  GenerateEphemeralKeypairResponse,
  GetPublicKeyRequest,
  GetPublicKeyResponse,
  IsValidRequest,
  IsValidResponse,
  ListKeysRequest,
  ListKeysResponse,
  PublicKey,
  SigningServiceServer,
  SignJsonBatchRequest,
  SignJsonBatchResponse,
  SignJsonRequest,
  SignJsonResponse,
  SignJsonWithSeedRequest,
  SignJsonWithSeedResponse,
} from '@tessera/proto/tessera/signing/v1/signing';
import { peerCertificateNames, type UnaryContext, unaryService } from '@tessera/service-kit';
import { type KeyEntry, type KeyRing, NoValidSigningKey } from '../key-ring.js';
import type { SigningCounters } from '../metrics.js';

export const SIGNING_SERVICE_NAME = 'tessera.signing.v1.SigningService';
/** The id Sydent labels ephemeral-key signatures with (sign-ed25519), and our default for them. */
const EPHEMERAL_KEY_ID = 'ed25519:0';
const KEY_ID = /^ed25519:[A-Za-z0-9_]+$/;

export interface SigningDeps {
  /** The entity in `signatures`: TESSERA_SERVER_NAME. */
  serverName: string;
  keys: KeyRing;
  counters: SigningCounters;
}

/** The caller's side of a call: its certificate, which names it. */
type Caller = Parameters<typeof peerCertificateNames>[0];
type Handler<Req, Res> = (request: Req, call?: Caller) => Promise<Res>;

export interface SigningHandlers {
  getPublicKey: Handler<GetPublicKeyRequest, GetPublicKeyResponse>;
  listKeys: Handler<ListKeysRequest, ListKeysResponse>;
  isValid: Handler<IsValidRequest, IsValidResponse>;
  signJson: Handler<SignJsonRequest, SignJsonResponse>;
  signJsonBatch: Handler<SignJsonBatchRequest, SignJsonBatchResponse>;
  generateEphemeralKeypair: Handler<GenerateEphemeralKeypairRequest, GenerateEphemeralKeypairResponse>;
  signJsonWithSeed: Handler<SignJsonWithSeedRequest, SignJsonWithSeedResponse>;
}

/**
 * The grpc-js implementation, errors through toServiceError. Who may call is the gRPC server's
 * allow-list (TESSERA_SIGNING_ALLOWED_CLIENTS), checked before any handler runs.
 */
export function signingService(deps: SigningDeps, context: UnaryContext): SigningServiceServer {
  return unaryService<SigningServiceServer>(SIGNING_SERVICE_NAME, signingHandlers(deps), context);
}

/** The handlers as plain async functions (tests call them directly). */
export function signingHandlers({ serverName, keys, counters }: SigningDeps): SigningHandlers {
  // The key SignJson uses: the given one, or the current one when none is given.
  const signingEntry = (keyId: string): KeyEntry => {
    if (keyId === '' && keys.current === undefined) throw new NoValidSigningKey();
    const entry = keys.get(keyId === '' ? (keys.current?.keyId ?? '') : keyId);
    if (entry === undefined || !entry.valid) throw new TesseraError('M_NOT_FOUND', 'no valid key with this id');
    return entry;
  };
  return {
    // A revoked key is not found, as the gateway's pubkey answers 404 for it: whoever fetches a key
    // by id to check a signature (Synapse, for a v1 lookup) must not be handed a revoked one.
    getPublicKey: async ({ keyId }) => {
      const entry = keys.get(keyId === '' ? (keys.current?.keyId ?? '') : keyId);
      if (entry === undefined || !entry.valid) throw new TesseraError('M_NOT_FOUND', 'no valid key with this id');
      return { key: publicKeyOf(entry) };
    },

    listKeys: async () => ({ keys: keys.entries.map(publicKeyOf) }),

    isValid: async ({ publicKey }) => {
      const bytes = tryDecodeBase64(publicKey);
      const valid =
        bytes !== undefined && keys.entries.some((entry) => entry.valid && sameBytes(entry.key.publicKey, bytes));
      return { valid };
    },

    signJson: async ({ json, keyId }, call) => {
      const entry = signingEntry(keyId);
      const signed = signOrRefuse(() => entry.key.signJson(parseJsonObject(json), serverName));
      counters.signatures.inc({ method: 'SignJson', caller: callerOf(call) });
      return { json: JSON.stringify(signed) };
    },

    signJsonBatch: async ({ json, keyId }, call) => {
      const entry = signingEntry(keyId);
      const signed = json.map((text, index) => {
        try {
          return JSON.stringify(signOrRefuse(() => entry.key.signJson(parseJsonObject(text), serverName)));
        } catch (err) {
          if (err instanceof TesseraError) throw new TesseraError(err.errcode, `json[${index}]: ${err.message}`);
          throw err;
        }
      });
      counters.signatures.inc({ method: 'SignJsonBatch', caller: callerOf(call) }, signed.length);
      return { json: signed };
    },

    // Both URL-safe, as Sydent answers them: the seed is mailed inside a link (see the proto).
    generateEphemeralKeypair: async () => {
      const { publicKey, seed } = keyPairFromSeed(generateSeed());
      counters.ephemeralKeypairs.inc();
      return { publicKey: encodeBase64Url(publicKey), privateKey: encodeBase64Url(seed) };
    },

    signJsonWithSeed: async ({ json, seed: encodedSeed, keyId }, call) => {
      const seed = tryDecodeBase64(encodedSeed);
      if (seed?.length !== SEED_LENGTH)
        throw new TesseraError('M_INVALID_PARAM', `seed must be base64 of ${SEED_LENGTH} bytes`);
      const labelledKeyId = keyId === '' ? EPHEMERAL_KEY_ID : keyId;
      if (!KEY_ID.test(labelledKeyId)) throw new TesseraError('M_INVALID_PARAM', 'key_id must be ed25519:<version>');
      const obj = parseJsonObject(json);
      const signed = signOrRefuse(() =>
        signJson(obj, { entity: serverName, keyId: labelledKeyId, seed, oneOff: true }),
      );
      seed.fill(0);
      counters.signatures.inc({ method: 'SignJsonWithSeed', caller: callerOf(call) });
      return { json: JSON.stringify(signed) };
    },
  };
}

function publicKeyOf({ key, valid }: KeyEntry): PublicKey {
  return { keyId: key.keyId, publicKey: key.publicKeyBase64, valid };
}

function parseJsonObject(json: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TesseraError('M_BAD_JSON', 'json is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new TesseraError('M_BAD_JSON', 'json must be a JSON object');
  return parsed as Record<string, unknown>;
}

// What the content itself can get wrong: no canonical form (a float, an integer out of range),
// `signatures` of the wrong shape, or nesting too deep to encode.
function signOrRefuse<T>(sign: () => T): T {
  try {
    return sign();
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new TesseraError('M_BAD_JSON', err.message);
    if (err instanceof TypeError) throw new TesseraError('M_BAD_JSON', err.message);
    if (err instanceof RangeError) throw new TesseraError('M_BAD_JSON', 'json is nested too deeply');
    throw err;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Who asked for a signature, which says what it is for: the directory signs associations, the
 * invite service onbind payloads and invitations. The first name of the caller's certificate (an
 * allow-listed service, so the label's values are few); `unknown` without mutual TLS (tests).
 */
function callerOf(call: Caller | undefined): string {
  return (call && peerCertificateNames(call)[0]) ?? 'unknown';
}

import { createHmac, createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@tessera/config';
import type { Medium } from '@tessera/spec-params';

/** 256 bits: the least an HMAC-SHA256 key should have (the local runner makes exactly this). */
export const MIN_SECRET_BYTES = 32;
/** 132 bits of the HMAC: unguessable, and short enough for a URL and a subject token. */
const SID_LENGTH = 22;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+$/;

/**
 * What a digest is of: the prefix keeps a token's digest from ever equalling a client secret's.
 * `invite_token`: an invite's token, whose digest is the invite's id (`tessera.invite.<id>`).
 * `import_binding`: an imported association's `importId`, whose digest names its binding, so that
 * importing the same row again finds the binding the first import made.
 */
export type DigestKind = 'client_secret' | 'token' | 'invite_token' | 'import_binding';

/**
 * Keyed digests under the server secret. None of them can be reversed or recomputed without the
 * secret, so they may go into events and logs; each is domain-separated by a prefix ending in NUL,
 * and the parts are NUL-separated: none can hold a NUL (mediums are fixed words, normalised
 * addresses and client secrets refuse control characters), so no two inputs share a message.
 */
export interface Secrets {
  /**
   * base64url(HMAC-SHA256(key, "addr\0" + medium + "\0" + normalisedAddress)): the same for every
   * session of an address, and what directory and invite compute for it too.
   */
  addrKey(medium: Medium, normalisedAddress: string): string;
  /** base64url(HMAC-SHA256(key, "digest\0" + kind + "\0" + value)). */
  digest(kind: DigestKind, value: string): string;
  /**
   * base64url(HMAC-SHA256(key, "user\0" + userId)): the pseudonym of a Matrix user ID in events
   * and subjects (`tessera.terms.<userKey>`), so events about one user join without naming them.
   */
  userKey(userId: string): string;
  /**
   * base64url(HMAC-SHA256(key, "sid\0" + medium + "\0" + address + "\0" + clientSecret)), first 22
   * characters. Deterministic, so a retry with the same client secret finds the same session with no
   * index (Sydent keeps one session per medium, address and client secret), and it reveals nothing.
   */
  sid(medium: Medium, normalisedAddress: string, clientSecret: string): string;
}

export function createSecrets(key: Uint8Array): Secrets {
  if (key.length < MIN_SECRET_BYTES) throw new RangeError(`the server secret must have ${MIN_SECRET_BYTES}+ bytes`);
  // A KeyObject made once: createHmac with raw bytes imports the key again on every call, about a
  // third of an HMAC's cost here (a bulk lookup computes one per address).
  const secretKey = createSecretKey(key);
  const mac = (message: string) => createHmac('sha256', secretKey).update(message, 'utf8').digest('base64url');
  return {
    addrKey: (medium, address) => mac(`addr\0${medium}\0${address}`),
    digest: (kind, value) => mac(`digest\0${kind}\0${value}`),
    userKey: (userId) => mac(`user\0${userId}`),
    sid: (medium, address, clientSecret) => mac(`sid\0${medium}\0${address}\0${clientSecret}`).slice(0, SID_LENGTH),
  };
}

/**
 * The HMAC key: the bytes of the base64 text in TESSERA_SECRET_KEY_FILE (one line, as the local
 * runner writes it). Unset, unreadable, not base64 or shorter than 32 bytes stops the service: every
 * session id and address key depends on it, so there is no safe default.
 */
export function readServerSecret(file: string | undefined): Buffer {
  const name = 'TESSERA_SECRET_KEY_FILE';
  if (file === undefined)
    throw new ConfigError(`${name}: required here (session ids, address keys and digests depend on it)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!BASE64.test(text)) throw new ConfigError(`${name}: ${file} must hold base64 text`);
  const key = Buffer.from(text, 'base64'); // Node decodes both alphabets
  if (key.length < MIN_SECRET_BYTES)
    throw new ConfigError(
      `${name}: ${file} holds ${key.length} bytes; at least ${MIN_SECRET_BYTES} random bytes needed`,
    );
  return key;
}

import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  encodeBase64,
  generateSeed,
  keyPairFromSeed,
  SEED_LENGTH,
  type Signatures,
  signJson,
  tryDecodeBase64,
} from '@tessera/canonical-json';
import { type Config, ConfigError } from '@tessera/config';
import type { Logger } from '@tessera/service-kit';
import { createNewFile } from '@tessera/signing-keys';

export const ALGORITHM = 'ed25519';
/** The key a new store gets, and the id Sydent gives its only key. */
export const FIRST_VERSION = '0';
// The spec's key version: [a-zA-Z0-9_] (signJson checks the same).
const VERSION = /^[A-Za-z0-9_]+$/;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
// Any permission bit for group or others: the file should be the signing service's alone.
const SHARED_BITS = 0o077;

// The store file's line for a key, seed included: set by SigningKey's static block, the only code
// that can read #seed, and not exported.
let storeLineOf!: (key: SigningKey) => string;

/**
 * One long-term key. The seed stays in a private field: callers get the public key and a way to
 * sign, never the seed (neither JSON.stringify nor util.inspect show #private fields).
 */
export class SigningKey {
  readonly algorithm = ALGORITHM;
  /** "ed25519:0" */
  readonly keyId: string;
  readonly version: string;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Unpadded standard base64 of the public key, as the spec publishes it. */
  readonly publicKeyBase64: string;
  readonly #seed: Uint8Array;

  constructor(version: string, seed: Uint8Array) {
    const pair = keyPairFromSeed(seed);
    this.version = version;
    this.keyId = `${ALGORITHM}:${version}`;
    this.publicKey = pair.publicKey;
    this.publicKeyBase64 = encodeBase64(pair.publicKey);
    this.#seed = pair.seed;
  }

  /** `obj` with `signatures[entity][keyId]` added; throws CanonicalJsonError when it has no canonical form. */
  signJson<T extends object>(obj: T, entity: string): T & { signatures: Signatures } {
    return signJson(obj, { entity, keyId: this.keyId, seed: this.#seed });
  }

  static {
    storeLineOf = (key) => `${ALGORITHM} ${key.version} ${encodeBase64(key.#seed)}\n`;
  }
}

export interface KeyStore {
  /** The file the keys came from. */
  readonly file: string;
  /** True when this start generated the file. */
  readonly created: boolean;
  /** Every key, in file order. */
  readonly keys: readonly SigningKey[];
  get(keyId: string): SigningKey | undefined;
}

/** The key file: TESSERA_SIGNING_KEY_FILE, else `<TESSERA_DATA_DIR>/signing/signing.key`. */
export function keyFilePath(config: Pick<Config, 'TESSERA_SIGNING_KEY_FILE' | 'TESSERA_DATA_DIR'>): string {
  return config.TESSERA_SIGNING_KEY_FILE ?? join(config.TESSERA_DATA_DIR, 'signing', 'signing.key');
}

/**
 * Opens the key store in the Sydent/Synapse signing-key format (`ed25519 <version> <base64 seed>`,
 * one key a line). A missing file gets a fresh `ed25519:0`, written 0600 in a 0700 directory; an
 * existing one (ours, or a mounted secret) is read as it is. A malformed line is a ConfigError
 * naming the file and the line, never the content.
 */
export async function openKeyStore(file: string, log: Logger): Promise<KeyStore> {
  let text = await readIfExists(file);
  let created = false;
  if (text === null) {
    const generated = new SigningKey(FIRST_VERSION, generateSeed());
    created = await createNewFile(file, storeLineOf(generated), { mode: FILE_MODE, dirMode: DIR_MODE });
    if (created) log.info({ file, keyId: generated.keyId }, 'generated a new signing key');
    text = created ? storeLineOf(generated) : await readIfExists(file);
    if (text === null) throw new ConfigError(`signing key file ${file}: vanished while it was being created`);
  }
  await warnIfShared(file, log);
  const keys = parseKeyFile(text, file);
  const byId = new Map(keys.map((key) => [key.keyId, key]));
  return { file, created, keys, get: (keyId) => byId.get(keyId) };
}

/** Parses the file's text; blank lines and `#` comments are skipped. Exported for tests. */
export function parseKeyFile(text: string, file: string): SigningKey[] {
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `signing key file ${file} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 3) throw new ConfigError(`${where}: expected "ed25519 <version> <base64 seed>"`);
    const [algorithm, version, encodedSeed] = fields as [string, string, string];
    if (algorithm !== ALGORITHM) throw new ConfigError(`${where}: unsupported algorithm (only ed25519)`);
    if (!VERSION.test(version)) throw new ConfigError(`${where}: the key version must match [A-Za-z0-9_]+`);
    if (seen.has(version)) throw new ConfigError(`${where}: key ${ALGORITHM}:${version} appears twice`);
    const seed = decodeSeed(encodedSeed);
    if (seed === null) throw new ConfigError(`${where}: the seed is not base64 of ${SEED_LENGTH} bytes`);
    seen.add(version);
    keys.push(new SigningKey(version, seed));
    seed.fill(0);
  }
  if (keys.length === 0) throw new ConfigError(`signing key file ${file}: holds no key`);
  return keys;
}

function decodeSeed(encoded: string): Uint8Array | null {
  const seed = tryDecodeBase64(encoded);
  return seed?.length === SEED_LENGTH ? seed : null;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`signing key file ${file}: cannot read it: ${(err as Error).message}`);
  }
}

async function warnIfShared(file: string, log: Logger): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & SHARED_BITS) !== 0) {
    log.warn(
      { file, mode: (mode & 0o777).toString(8).padStart(4, '0') },
      'signing key file is accessible by group or others: make it 0600',
    );
  }
}

/**
 * Rotation: a fresh key `ed25519:<version>` written first in an existing key file, so that signing
 * signs with it from its next start, while the keys after it stay in the file (their public keys
 * stay published and valid until revoked). The file is replaced whole (a temporary file renamed
 * over it), 0600. Answers the new key, whose seed never leaves this module.
 */
export async function addKey(file: string, version: string): Promise<SigningKey> {
  if (!VERSION.test(version)) throw new ConfigError(`key version ${JSON.stringify(version)}: must match [A-Za-z0-9_]+`);
  const text = await readIfExists(file);
  if (text === null)
    throw new ConfigError(`signing key file ${file}: does not exist (signing makes the first key itself)`);
  const keys = parseKeyFile(text, file);
  if (keys.some((key) => key.version === version))
    throw new ConfigError(`signing key file ${file}: already holds ${ALGORITHM}:${version}`);
  const added = new SigningKey(version, generateSeed());
  const temporary = join(dirname(file), `.${process.pid}.signing.key.tmp`);
  try {
    await writeFile(temporary, storeLineOf(added) + text, { mode: FILE_MODE, flag: 'wx' });
    await chmod(temporary, FILE_MODE);
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  return added;
}

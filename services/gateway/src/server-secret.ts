import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@tessera/config';

const MIN_SECRET_BYTES = 32;

/** The server secret of TESSERA_SECRET_KEY_FILE: base64 text of at least 32 random bytes. */
export async function readServerSecret(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`TESSERA_SECRET_KEY_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const secret = Buffer.from(text.trim(), 'base64');
  if (secret.length < MIN_SECRET_BYTES)
    throw new ConfigError(`TESSERA_SECRET_KEY_FILE: expected base64 of at least ${MIN_SECRET_BYTES} bytes`);
  return secret;
}

/**
 * A key for one purpose, derived from the server secret, so that a digest made for one use (a
 * rate-limit counter) never equals one made for another (an address key) from the same input.
 */
export function purposeKey(secret: Uint8Array, purpose: string): Uint8Array {
  return createHmac('sha256', secret).update(`tessera/${purpose}`, 'utf8').digest();
}

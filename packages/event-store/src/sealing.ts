import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { randomBytes } from '@tessera/secure-random';

const ALGORITHM = 'aes-256-gcm';
export const DATA_KEY_BYTES = 32;
const NONCE_BYTES = 12; // GCM's native nonce size; random nonces are safe far beyond one aggregate's fields
const TAG_BYTES = 16;

/** One aggregate's data key; `keyId` tells a sealed value which key it needs. */
export type DataKey = { keyId: string; key: Uint8Array };

export function newDataKey(): DataKey {
  return { keyId: randomBytes(8).toString('hex'), key: randomBytes(DATA_KEY_BYTES) };
}

// Bound into the authentication tag, so a sealed value opens only for the aggregate and field it
// was sealed for: copying it into another aggregate or field makes it fail as tampered.
export function sealingContext(aggregate: string, fieldName: string): Buffer {
  if (aggregate.includes('\0') || fieldName.includes('\0') || fieldName === '')
    throw new TypeError('aggregate and fieldName must be non-empty and contain no NUL');
  return Buffer.from(`${aggregate}\0${fieldName}`, 'utf8');
}

export function sealWithKey(dataKey: DataKey, context: Uint8Array, plaintext: Uint8Array): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, dataKey.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(context);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { keyId: dataKey.keyId, nonce, ciphertext };
}

/** Throws when the value was altered, or sealed for another context or with another key. */
export function openWithKey(dataKey: DataKey, context: Uint8Array, sealed: Sealed): Uint8Array {
  if (sealed.nonce.length !== NONCE_BYTES || sealed.ciphertext.length < TAG_BYTES)
    throw new SealedValueInvalid('sealed value is malformed');
  const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES);
  const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, dataKey.key, sealed.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(context);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (err) {
    throw new SealedValueInvalid('sealed value failed authentication', { cause: err });
  }
}

export class SealedValueInvalid extends Error {
  override readonly name = 'SealedValueInvalid';
}

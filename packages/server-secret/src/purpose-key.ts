import { createHmac } from 'node:crypto';

/**
 * A key for one purpose, derived from the server secret, so that a digest made for one use (a
 * rate-limit counter) never equals one made for another (an address key) from the same input.
 */
export function purposeKey(secret: Uint8Array, purpose: string): Uint8Array {
  return createHmac('sha256', secret).update(`tessera/${purpose}`, 'utf8').digest();
}

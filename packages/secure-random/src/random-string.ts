import { randomBytes } from './random-bytes.js';

/**
 * `length` characters drawn uniformly from `alphabet` (at most 256 characters). Each random byte
 * maps to a character only below the largest multiple of the alphabet's size, so no character is
 * likelier than another (no modulo bias); the rest are drawn again.
 */
export function randomString(alphabet: string, length: number): string {
  const characters = [...alphabet];
  if (characters.length < 2 || characters.length > 256)
    throw new RangeError(`alphabet must hold 2 to 256 characters, not ${characters.length}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer`);
  const usable = 256 - (256 % characters.length);
  const drawn: string[] = [];
  while (drawn.length < length) {
    for (const byte of randomBytes(length - drawn.length)) {
      if (byte < usable) drawn.push(characters[byte % characters.length] ?? '');
    }
  }
  return drawn.join('');
}

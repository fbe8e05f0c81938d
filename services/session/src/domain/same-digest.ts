import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two digests in time that does not depend on where they differ, so answer times tell a
 * guesser nothing about how close a token or client secret came. Pure: deciders may call it.
 */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // Digests have one fixed length; a different length is no match, and says nothing secret.
  return left.length === right.length && timingSafeEqual(left, right);
}

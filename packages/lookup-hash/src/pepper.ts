import { randomString } from '@tessera/secure-random';

// The spec puts no rule on the pepper beyond being a string, and warns clients of servers with
// weak ones. Sydent draws 5 characters of [a-zA-Z0-9]; we keep its alphabet (safe in JSON, URLs
// and any client's string handling, no space to confuse the `"<address> <medium> <pepper>"` form)
// and draw 32 of them, about 190 bits, so no pepper is ever guessed or repeated.
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const PEPPER_LENGTH = 32;

/** A new lookup pepper, from the operating system's CSPRNG. */
export function newLookupPepper(): string {
  return randomString(ALPHANUMERIC, PEPPER_LENGTH);
}

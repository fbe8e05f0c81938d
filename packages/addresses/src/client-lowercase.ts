import { normalizeEmail } from './email.js';

/**
 * The form of a typed email address that Element's matrix-js-sdk hashes for a v2 lookup,
 * `address.toLowerCase()` (its `identityHashedLookup`, 36.2.0, lower-cases exactly what the app
 * passes, trimming nothing), when it differs from our normalised, fully case-folded form; undefined
 * when both are the same, as for every ASCII address. They part where folding and lower-casing
 * part: `Straße@x.org` folds to `strasse@x.org` but lower-cases to `straße@x.org`, a final sigma
 * lower-cases to `ς` and folds to `σ`, Cherokee folds to upper case. From the folded form alone
 * this cannot be recovered (`ss` may have been `ß`), so it is taken from what the user typed, at
 * requestToken, and kept with the session for the directory to index at bind.
 *
 * `input` is the address exactly as the client sent it: the normaliser trims nothing (it refuses
 * whitespace), so neither does this. Throws as normalizeEmail does for an invalid address. The
 * form it returns is its own client form and folds to the same address, so a stored form can be
 * checked and given here again in place of the typed one.
 */
export function clientLowercaseEmail(input: string): string | undefined {
  const normalized = normalizeEmail(input);
  const lowerCased = input.toLowerCase();
  return lowerCased === normalized ? undefined : lowerCased;
}

import { createHash } from 'node:crypto';
import { clientLowercaseEmail, normalizeThreepid } from '@tessera/addresses';

/** The algorithms of `/hash_details` and `/lookup`; the spec requires `sha256`, `none` is optional. */
export const LOOKUP_ALGORITHMS = ['sha256', 'none'] as const;
export type LookupAlgorithm = (typeof LOOKUP_ALGORITHMS)[number];

export const isLookupAlgorithm = (value: unknown): value is LookupAlgorithm =>
  (LOOKUP_ALGORITHMS as readonly unknown[]).includes(value);

/**
 * The `sha256` lookup hash (identity spec, "Client behaviour" of hashed lookup): SHA-256 over the
 * UTF-8 of `"<address> <medium> <pepper>"`, as unpadded URL-safe base64. Hashes `address` as
 * given: which forms of an address to hash is `indexForms`' business.
 */
export function lookupHash(address: string, medium: string, pepper: string): string {
  return createHash('sha256').update(`${address} ${medium} ${pepper}`, 'utf8').digest('base64url');
}

/** A `none` lookup entry: the address and medium in clear, `"<address> <medium>"`, no pepper. */
export function noneLookupEntry(address: string, medium: string): string {
  return `${address} ${medium}`;
}

/**
 * The address and medium of a `none` entry, or undefined when it is not exactly two parts
 * separated by one space (Sydent refuses those too; no address we accept contains a space).
 * The address comes back as sent: the caller normalises it before looking it up.
 */
export function parseNoneLookupEntry(entry: string): { address: string; medium: string } | undefined {
  const parts = entry.split(' ');
  if (parts.length !== 2) return undefined;
  const [address = '', medium = ''] = parts;
  return address === '' || medium === '' ? undefined : { address, medium };
}

/**
 * Every form of a bound address that clients may hash, so the directory indexes each: our
 * normalised form (email: full Unicode case folding, as the spec and Sydent ask), and for an email
 * the form Element's matrix-js-sdk hashes where the two differ (clientLowercaseEmail:
 * `Straße@x.org` folds to `strasse@x.org` but lower-cases to `straße@x.org`). `address` is the
 * address as the user gave it (before normalisation), or the client form the session kept from
 * requestToken (GetValidated3pid's `client_lowercase_address`), which gives the same forms: from
 * the folded form alone the lower-cased one cannot be recovered (`ss` may have been `ß`). Throws
 * as normalizeThreepid does for an invalid address or an unknown medium.
 */
export function indexForms(medium: string, address: string): string[] {
  const normalized = normalizeThreepid(medium, address);
  if (medium !== 'email') return [normalized];
  const lowerCased = clientLowercaseEmail(address);
  return lowerCased === undefined ? [normalized] : [normalized, lowerCased];
}

/** The `sha256` hashes under which a bound address is indexed for `pepper`: one per `indexForms`. */
export function indexHashes(medium: string, address: string, pepper: string): string[] {
  return indexForms(medium, address).map((form) => lookupHash(form, medium, pepper));
}

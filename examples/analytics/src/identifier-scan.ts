/**
 * What analytics can read of an event: every string in it, wherever it sits. Sealed fields are
 * bytes (ciphertext) and keyed pseudonyms are digests, so none of these should ever be a person's
 * address or user ID; this scan is how the report shows it.
 */
export function* stringsOf(value: unknown, path = ''): Generator<{ path: string; value: string }> {
  if (typeof value === 'string') {
    yield { path, value };
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* stringsOf(item, `${path}[${i}]`);
  } else if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date)
  ) {
    for (const [key, item] of Object.entries(value)) yield* stringsOf(item, path === '' ? key : `${path}.${key}`);
  }
}

export type IdentifierKind = 'email address' | 'Matrix user ID' | 'phone number';

const PATTERNS: readonly [IdentifierKind, RegExp][] = [
  ['email address', /[^\s@<>"':]+@[^\s@<>"':]+\.[A-Za-z]{2,}/],
  ['Matrix user ID', /@[a-z0-9._=\-/+]+:[A-Za-z0-9.-]+/i],
  // E.164: up to 15 digits; a shorter run of digits is a count or a sequence, not a number to call.
  ['phone number', /^\+?[1-9][0-9]{7,14}$/],
];

// Fields that are counters by design: a session imported from Sydent keeps its decimal sid.
const DECIMAL_COUNTERS = /(^|\.)sid$/;

/** The kind of personal identifier a string (at `path`, when known) looks like, or null. */
export function identifierKindOf(text: string, path = ''): IdentifierKind | null {
  for (const [kind, pattern] of PATTERNS)
    if (pattern.test(text) && !(kind === 'phone number' && DECIMAL_COUNTERS.test(path))) return kind;
  return null;
}

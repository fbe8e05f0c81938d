/** Thrown when a value has no Matrix canonical JSON form; `path` points at the offending part (`$.a[0]`). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

// Spec: integers in [-(2^53)+1, 2^53-1]. Past that, other implementations would round and the signature would break.
const MIN_INTEGER = -(2n ** 53n) + 1n;
const MAX_INTEGER = 2n ** 53n - 1n;

// Mandatory escapes only: everything else, non-ASCII included, is written raw.
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/g;
// With the `u` flag a well-formed surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Encodes `value` as Matrix canonical JSON (spec appendix "Canonical JSON").
 *
 * Stricter than JSON.stringify, which would silently drop or coerce what we reject: a signature must cover exactly
 * what the peer will see. Rejected: floats, NaN, ±Infinity, integers outside the spec range, `undefined` (also as a
 * property value or array hole), functions, symbols, cycles, strings with lone surrogates (no UTF-8 form), and any
 * object that is not a plain object or array (Date, Map, Buffer, class instances: their JSON form is a guess).
 * Accepted beyond JSON.stringify: a bigint inside the integer range, written as the integer, because int8 columns
 * arrive as bigint. `-0` is written `0`.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

function encode(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, path);
    case 'number':
      return encodeInteger(value, path);
    case 'bigint':
      if (value < MIN_INTEGER || value > MAX_INTEGER) throw new CanonicalJsonError(path, 'integer out of range');
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return encodeContainer(value, path, ancestors);
    default:
      throw new CanonicalJsonError(path, `${typeof value} has no JSON form`);
  }
}

function encodeInteger(value: number, path: string): string {
  if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} is not permitted`);
  if (!Number.isInteger(value)) throw new CanonicalJsonError(path, 'floats are not permitted');
  if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(path, 'integer out of range');
  // String(-0) is '0', and safe integers never take exponent notation.
  return String(value);
}

function encodeString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(path, 'string has a lone surrogate (not valid UTF-8)');
  return `"${value.replace(NEEDS_ESCAPE, escapeChar)}"`;
}

function escapeChar(char: string): string {
  return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function encodeContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new CanonicalJsonError(path, 'cycle');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return encodeArray(value, path, ancestors);
    if (!isPlainObject(value)) {
      throw new CanonicalJsonError(path, `${value.constructor?.name ?? 'object'} is not a plain object`);
    }
    return encodeObject(value, path, ancestors);
  } finally {
    // Only ancestors count: the same object twice side by side is a DAG, not a cycle, and encodes fine.
    ancestors.delete(value);
  }
}

function encodeArray(value: readonly unknown[], path: string, ancestors: Set<object>): string {
  const parts: string[] = [];
  // An index loop, not map: map skips holes and join writes them as nothing, so `[, 1]` would give `[,1]`.
  for (let i = 0; i < value.length; i++) parts.push(encode(value[i], `${path}[${i}]`, ancestors));
  return `[${parts.join(',')}]`;
}

function encodeObject(value: Record<string, unknown>, path: string, ancestors: Set<object>): string {
  const parts: string[] = [];
  for (const key of Object.keys(value).sort(compareCodePoints)) {
    const keyPath = `${path}.${key}`;
    parts.push(`${encodeString(key, keyPath)}:${encode(value[key], keyPath, ancestors)}`);
  }
  return `{${parts.join(',')}}`;
}

/** True for `{}`-literal and `Object.create(null)` objects, the only objects JSON.parse makes. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Orders strings by Unicode code point, as the spec requires. Array.prototype.sort's default compares UTF-16 code
 * units, which puts astral characters (surrogates, 0xD800-0xDFFF) before U+E000-U+FFFF. Lifting surrogates above
 * that range at the first difference gives code point order without decoding (the fix-up ICU uses).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const unitA = a.charCodeAt(i);
    const unitB = b.charCodeAt(i);
    if (unitA !== unitB) return codePointRank(unitA) - codePointRank(unitB);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

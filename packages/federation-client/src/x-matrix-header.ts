import { TesseraError } from '@tessera/errors';
import { parseServerName } from './server-name.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

/** One X-Matrix credential: one signature of the request by one key of the origin. */
export interface XMatrixCredential {
  /** The sending server's name, exactly as written (it is signed as written). */
  origin: string;
  /** The receiving server's name; absent from senders older than spec v1.3 (Synapse before 1.58). */
  destination: string | undefined;
  /** `algorithm:version`, e.g. `ed25519:a_XyZ`. */
  keyId: string;
  /** Unpadded base64, checked when verified. */
  signature: string;
}

// RFC 9110 §5.6.2: token = 1*tchar. The server-server spec asks recipients to accept a colon in an
// unquoted value too, because senders before spec v1.3 wrote `origin=example.org:8448` unquoted.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const UNQUOTED_VALUE = /^[!#$%&'*+.^_`|~0-9A-Za-z:-]+/;
// A key id is `algorithm:version`; the version is [a-zA-Z0-9_] (server-server spec, Server Keys).
const KEY_ID = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_]+$/;
const WHITESPACE = /^[ \t]*/;

/**
 * The X-Matrix credentials in a request's Authorization headers, one per header; other schemes
 * (Bearer) are skipped, as Synapse and Sydent skip them. Throws XMatrixRefusal: 'missing' when no
 * header is of scheme X-Matrix, 'malformed' when one breaks the grammar (RFC 9110 §11.4, as the
 * server-server spec's "Request Authentication" applies it: names case-insensitive, quoted or
 * token values, backslash escapes in quoted ones, spaces and tabs around commas and `=`, unknown
 * parameters ignored, each parameter at most once, origin/key/sig required).
 */
export function parseXMatrixHeaders(authorization: readonly string[] | string | undefined): XMatrixCredential[] {
  const headers = typeof authorization === 'string' ? [authorization] : (authorization ?? []);
  const credentials = headers.flatMap((header) => {
    const credential = parseXMatrixHeader(header);
    return credential === undefined ? [] : [credential];
  });
  if (credentials.length === 0) throw new XMatrixRefusal('missing', 'no X-Matrix Authorization header');
  return credentials;
}

/** One Authorization header: its credential, or undefined for another scheme. */
export function parseXMatrixHeader(header: string): XMatrixCredential | undefined {
  const scheme = TOKEN.exec(header)?.[0];
  if (scheme?.toLowerCase() !== 'x-matrix') return undefined; // auth schemes are case-insensitive
  const afterScheme = header.slice(scheme.length);
  if (!afterScheme.startsWith(' ')) throw malformed('expected a space after X-Matrix'); // RFC 9110: 1*SP
  const params = parseParams(afterScheme);
  const origin = required(params, 'origin');
  const keyId = required(params, 'key');
  const signature = required(params, 'sig');
  if (!isServerName(origin)) throw malformed('origin is not a server name');
  if (!KEY_ID.test(keyId)) throw malformed('key is not a key id');
  if (signature === '') throw malformed('empty sig');
  return { origin, destination: params.get('destination'), keyId, signature };
}

/** `name=value` pairs separated by commas (empty list elements ignored, as RFC 9110 §5.6.1 asks). */
function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  let rest = text;
  const skipWhitespace = () => {
    rest = rest.slice(WHITESPACE.exec(rest)?.[0].length ?? 0);
  };
  for (;;) {
    skipWhitespace();
    if (rest === '') break;
    if (rest.startsWith(',')) {
      rest = rest.slice(1);
      continue;
    }
    const name = TOKEN.exec(rest)?.[0];
    if (name === undefined) throw malformed('expected a parameter name');
    rest = rest.slice(name.length);
    skipWhitespace();
    if (!rest.startsWith('=')) throw malformed('expected = after a parameter name');
    rest = rest.slice(1);
    skipWhitespace();
    const [value, length] = rest.startsWith('"') ? quotedString(rest) : unquotedValue(rest);
    rest = rest.slice(length);
    const key = name.toLowerCase();
    if (params.has(key)) throw malformed(`parameter ${key} given twice`);
    params.set(key, value);
    skipWhitespace();
    if (rest !== '' && !rest.startsWith(',')) throw malformed('expected a comma between parameters');
  }
  if (params.size === 0) throw malformed('no parameters');
  return params;
}

/** RFC 9110 §5.6.4 quoted-string: qdtext and backslash pairs; returns the unescaped value and the length read. */
function quotedString(text: string): [string, number] {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const char = text[i] ?? '';
    if (char === '"') return [value, i + 1];
    if (char === '\\') {
      i++;
      const escaped = text[i];
      if (escaped === undefined || !isQuotedPairChar(escaped)) throw malformed('bad escape in a quoted value');
      value += escaped;
    } else if (isQdtext(char)) {
      value += char;
    } else {
      throw malformed('control character in a quoted value');
    }
  }
  throw malformed('unterminated quoted value');
}

function unquotedValue(text: string): [string, number] {
  const value = UNQUOTED_VALUE.exec(text)?.[0];
  if (value === undefined) throw malformed('expected a parameter value');
  return [value, value.length];
}

// HTAB, SP, visible ASCII but `"` and `\`, and obs-text (Node reads header bytes as latin1).
function isQdtext(char: string): boolean {
  const code = char.charCodeAt(0);
  return (
    code === 0x09 ||
    code === 0x20 ||
    code === 0x21 ||
    (code >= 0x23 && code <= 0x7e && code !== 0x5c) ||
    isObsText(code)
  );
}

function isQuotedPairChar(char: string): boolean {
  const code = char.charCodeAt(0);
  return code === 0x09 || (code >= 0x20 && code <= 0x7e) || isObsText(code);
}

const isObsText = (code: number): boolean => code >= 0x80 && code <= 0xff;

function required(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw malformed(`no ${name} parameter`);
  return value;
}

function isServerName(value: string): boolean {
  try {
    parseServerName(value);
    return true;
  } catch (err) {
    if (err instanceof TesseraError) return false;
    throw err;
  }
}

const malformed = (detail: string): XMatrixRefusal => new XMatrixRefusal('malformed', detail);

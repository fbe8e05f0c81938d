import { TesseraError } from '@tessera/errors';

// Spec (client_secret, sid): the characters [0-9a-zA-Z.=_-], 1 to 255 of them.
const OPAQUE_ID = /^[0-9a-zA-Z.=_-]{1,255}$/;
// A brand is a folder name under TESSERA_TEMPLATES_DIR; anything else never reaches a path.
const BRAND = /^[A-Za-z0-9_-]{1,64}$/;
// Whitespace and control characters: never part of a URL as sent, and CR/LF would split the
// Location header that GET submitToken sends.
const URL_UNSAFE = /[\s\p{Cc}]/u;
const MAX_NEXT_LINK = 2048;
const MAX_TOKEN_CODE_POINTS = 255;

const invalid = (message: string) => new TesseraError('M_INVALID_PARAM', message);

export function validClientSecret(value: string): string {
  if (!OPAQUE_ID.test(value)) throw invalid('client_secret must be 1 to 255 of [0-9a-zA-Z.=_-]');
  return value;
}

export function validSid(value: string): string {
  if (!OPAQUE_ID.test(value)) throw invalid('sid must be 1 to 255 of [0-9a-zA-Z.=_-]');
  return value;
}

/** The validation token as the user received it: passed through unchanged, at most 255 code points. */
export function validToken(value: string): string {
  const length = [...value].length;
  if (length === 0 || length > MAX_TOKEN_CODE_POINTS) throw invalid('token must be 1 to 255 characters');
  return value;
}

/**
 * An absolute http(s) URL, kept exactly as given (GET submitToken redirects to it). Other schemes
 * (file:, javascript:, data:) are refused: the link is followed by the user's browser.
 */
export function validNextLink(value: string): string {
  if (value.length > MAX_NEXT_LINK || URL_UNSAFE.test(value)) throw invalid('next_link must be an http(s) URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('next_link must be an absolute http(s) URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
    throw invalid('next_link must be an absolute http(s) URL');
  return value;
}

/**
 * The template brand from the `brand` query parameter, or undefined for the default brand. A
 * value that could not be a brand folder is ignored rather than refused, as Sydent falls back to
 * its default brand for any brand it does not know.
 */
export function brandOf(value: unknown): string | undefined {
  return typeof value === 'string' && BRAND.test(value) ? value : undefined;
}

import { invalidParam } from './invalid-param.js';

// Bounded: it is sealed into an event and sent back as a Location header.
const MAX_NEXT_LINK = 2048;
// Whitespace and control characters are never part of a URL as sent, and CR/LF would split the
// Location header that GET submitToken answers with.
const URL_UNSAFE = /[\s\p{Cc}]/u;

/**
 * The optional `next_link` of requestToken: none when absent or empty, else an absolute http(s)
 * URL with a host, kept exactly as given (GET submitToken redirects the user's browser to it, so
 * file:, javascript: and data: are refused; spec NOTES §5.2).
 */
export function parseNextLink(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (value.length > MAX_NEXT_LINK) throw invalidParam(`next_link must be at most ${MAX_NEXT_LINK} characters`);
  const refused = invalidParam('next_link must be an absolute http or https URL');
  if (URL_UNSAFE.test(value)) throw refused;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refused;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw refused;
  return value;
}

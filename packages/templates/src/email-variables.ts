import { randomBytes } from '@tessera/secure-random';
import { urlQuote } from './url-quote.js';

/**
 * The variables every mail of Sydent's has, under Sydent's names: the headers' values and the
 * multipart boundary. `date`, `messageid` and `multipart_boundary` are made here when not given.
 */
export type MessageVars = {
  /** The recipient's address, as it goes into the To header. */
  to: string;
  /** The sender (TESSERA_EMAIL_FROM), e.g. `Tessera <noreply@example.org>`. */
  from: string;
  /** The sending time (rendered in RFC 2822 form), or the Date header's text itself; now when absent. */
  date?: Date | string;
  /** The Message-ID header's value with its angle brackets; a fresh one when absent (see newMessageId). */
  messageid?: string;
  multipart_boundary?: string;
};

/**
 * The variables of Sydent's `verification_template.eml.j2`, under Sydent's names, so that its
 * operators' templates render unchanged.
 */
export type VerificationEmailVars = MessageVars & {
  /** The validation token, for clients that ask the user to type it. */
  token: string;
  /** The GET submitToken link that validates the session. */
  link: string;
  /** Where the request came from; null or absent when unknown ("an unknown location", as Sydent says). */
  ipaddress?: string | null;
};

export const UNKNOWN_LOCATION = 'an unknown location';
const BOUNDARY_LENGTH = 32;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Variables that have no `_forhtml` / `_forurl` variants in Sydent either.
const WITHOUT_VARIANTS = new Set(['multipart_boundary']);

/** The template context: every variable, plus the `_forhtml` / `_forurl` variants older Sydent templates use. */
export function verificationEmailContext(vars: VerificationEmailVars): Record<string, string> {
  return withVariants({
    ...messageVariables(vars),
    ipaddress: vars.ipaddress || UNKNOWN_LOCATION,
    token: vars.token,
    link: vars.link,
  });
}

/** The header and boundary variables, made where not given. */
export function messageVariables(vars: MessageVars): Record<string, string> {
  return {
    to: vars.to,
    from: vars.from,
    date: typeof vars.date === 'string' ? vars.date : rfc2822Date(vars.date ?? new Date()),
    messageid: vars.messageid ?? newMessageId(vars.from),
    multipart_boundary: vars.multipart_boundary ?? newBoundary(),
  };
}

/**
 * `base` plus Sydent's `<name>_forhtml` (HTML-escaped) and `<name>_forurl` (URL-quoted) variants
 * of each variable. Throws when a value holds a line break (but a header value's folding in those
 * named `folded`): it would let a value write headers of its own. The error names the variable, never its value (values are addresses, tokens and keys).
 */
export function withVariants(
  base: Readonly<Record<string, string>>,
  { folded = [] }: { folded?: readonly string[] } = {},
): Record<string, string> {
  const context: Record<string, string> = { ...base };
  for (const [name, value] of Object.entries(base)) {
    // A folded header value (encoded-words, one a line) breaks its lines with CRLF and a space only.
    const single = folded.includes(name) ? value.replace(/\r\n(?=[ \t])/g, '') : value;
    if (/[\r\n\0]/.test(single)) throw new TypeError(`template variable ${name} must be a single line`);
    if (WITHOUT_VARIANTS.has(name)) continue;
    context[`${name}_forhtml`] = escapeHtml(value);
    context[`${name}_forurl`] = urlQuote(value);
  }
  return context;
}

/** RFC 2822 §3.3 date-time in UTC, e.g. `Fri, 09 Nov 2001 01:08:47 +0000`. */
export function rfc2822Date(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const day = DAYS[date.getUTCDay()];
  const month = MONTHS[date.getUTCMonth()];
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  return `${day}, ${two(date.getUTCDate())} ${month} ${date.getUTCFullYear()} ${time} +0000`;
}

/**
 * A unique Message-ID at the sender's domain (so that it is the sender's to vouch for), or at
 * `localhost` when the sender has no usable domain.
 */
export function newMessageId(from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${Date.now().toString(36)}.${randomBytes(12).toString('hex')}@${domain}>`;
}

/** 32 random letters and digits, like Sydent's: never found in a quoted-printable or base64 body. */
export function newBoundary(): string {
  const bytes = randomBytes(BOUNDARY_LENGTH);
  // 62 symbols from bytes by modulo is slightly uneven; a boundary needs uniqueness, not uniformity.
  return Array.from(bytes, (byte) => ALPHANUMERIC.charAt(byte % ALPHANUMERIC.length)).join('');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

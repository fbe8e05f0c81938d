import { randomBytes } from '@tessera/secure-random';

/**
 * The variables of Sydent's `verification_template.eml.j2`, under Sydent's names, so that its
 * operators' templates render unchanged. `date`, `messageid` and `multipart_boundary` are made
 * here when not given.
 */
export type VerificationEmailVars = {
  /** The recipient's address, as it goes into the To header. */
  to: string;
  /** The sender (TESSERA_EMAIL_FROM), e.g. `Tessera <noreply@example.org>`. */
  from: string;
  /** The validation token, for clients that ask the user to type it. */
  token: string;
  /** The GET submitToken link that validates the session. */
  link: string;
  /** Where the request came from; null or absent when unknown ("an unknown location", as Sydent says). */
  ipaddress?: string | null;
  /** The sending time (rendered in RFC 2822 form), or the Date header's text itself; now when absent. */
  date?: Date | string;
  /** The Message-ID header's value with its angle brackets; a fresh one when absent (see newMessageId). */
  messageid?: string;
  multipart_boundary?: string;
};

export const UNKNOWN_LOCATION = 'an unknown location';
const BOUNDARY_LENGTH = 32;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Variables that have no `_forhtml` / `_forurl` variants in Sydent either.
const WITHOUT_VARIANTS = new Set(['multipart_boundary']);

/**
 * The template context: every variable, plus Sydent's `<name>_forhtml` (HTML-escaped) and
 * `<name>_forurl` (URL-encoded) variants, which older Sydent templates use. Every value must be a
 * single line: a line break in `to` or `from` would let a value write headers of its own.
 */
export function verificationEmailContext(vars: VerificationEmailVars): Record<string, string> {
  const base: Record<string, string> = {
    to: vars.to,
    from: vars.from,
    date: typeof vars.date === 'string' ? vars.date : rfc2822Date(vars.date ?? new Date()),
    messageid: vars.messageid ?? newMessageId(vars.from),
    multipart_boundary: vars.multipart_boundary ?? newBoundary(),
    ipaddress: vars.ipaddress || UNKNOWN_LOCATION,
    token: vars.token,
    link: vars.link,
  };
  const context: Record<string, string> = { ...base };
  for (const [name, value] of Object.entries(base)) {
    // The name, never the value: values are addresses and tokens.
    if (/[\r\n\0]/.test(value)) throw new TypeError(`template variable ${name} must be a single line`);
    if (WITHOUT_VARIANTS.has(name)) continue;
    context[`${name}_forhtml`] = escapeHtml(value);
    context[`${name}_forurl`] = encodeURIComponent(value);
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

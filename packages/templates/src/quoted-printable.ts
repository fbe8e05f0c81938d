import { encode, wrap } from 'libqp';

// Quoted-printable (RFC 2045 §6.7) for the body parts of a rendered message: it keeps every line
// of the sent message short (links and tokens can be long, SMTP allows 998 octets a line) and
// 7-bit clean (non-ASCII text survives relays that do not speak 8BITMIME), while staying
// readable in a raw dump. libqp does the encoding (bench/results/templates-mime-encoding.md: as
// fast as the hand-written encoder it replaced, on the shipped mail).

// Rule 5: encoded lines are at most 76 characters, the `=` of a soft line break included.
const MAX_ENCODED_LINE = 76;

/** Encodes UTF-8 text; its line breaks (LF, CRLF or CR) become CRLF hard line breaks. */
export function encodeQuotedPrintable(text: string): string {
  // libqp keeps line breaks as they come; the message is sent with CRLF ones.
  return wrap(encode(text.replace(/\r\n|\r|\n/g, '\r\n')), MAX_ENCODED_LINE);
}

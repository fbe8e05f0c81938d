// Quoted-printable (RFC 2045 §6.7) for the body parts of a rendered message: it keeps every line
// of the sent message short (links and tokens can be long, SMTP allows 998 octets a line) and
// 7-bit clean (non-ASCII text survives relays that do not speak 8BITMIME), while staying
// readable in a raw dump.

// Rule 5: encoded lines are at most 76 characters, the `=` of a soft line break included.
const MAX_ENCODED_LINE = 76;
const SPACE = 0x20;
const TAB = 0x09;
// A line that needs no encoding at all: empty, or printable ASCII but `=`, spaces and tabs, not
// ending in a space or tab, and short enough. Most lines of a template are; they stay as they are.
const PLAIN_LINE = /^(?:[\t\x20-\x3c\x3e-\x7e]*[\x21-\x3c\x3e-\x7e])?$/;

// Rule 2: printable ASCII stands for itself, except `=` itself; every other byte is `=XX`.
// Spaces and tabs stand for themselves here; rule 3 is applied at the end of each line.
const TOKENS = Array.from({ length: 256 }, (_, byte) =>
  (byte >= 33 && byte <= 126 && byte !== 0x3d) || byte === SPACE || byte === TAB
    ? String.fromCharCode(byte)
    : hex(byte),
);

/** Encodes UTF-8 text; its line breaks (LF, CRLF or CR) become CRLF hard line breaks. */
export function encodeQuotedPrintable(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(encodeLine)
    .join('\r\n');
}

function encodeLine(line: string): string {
  if (line.length <= MAX_ENCODED_LINE && PLAIN_LINE.test(line)) return line;
  const bytes = Buffer.from(line, 'utf8');
  const last = bytes.length - 1;
  let encoded = '';
  let width = 0; // characters on the current encoded line
  for (let index = 0; index <= last; index++) {
    const byte = bytes[index] as number;
    // Rule 3: a space or tab at the end of a line would be stripped by some relays, so it is encoded.
    const token = index === last && (byte === SPACE || byte === TAB) ? hex(byte) : (TOKENS[byte] as string);
    // Leave room for the `=` of a soft line break; a token (such as `=C3`) is never split.
    if (width + token.length > MAX_ENCODED_LINE - 1) {
      encoded += '=\r\n';
      width = 0;
    }
    encoded += token;
    width += token.length;
  }
  return encoded;
}

function hex(byte: number): string {
  return `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

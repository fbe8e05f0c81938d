// Quoted-printable (RFC 2045 §6.7) for the body parts of a rendered message: it keeps every line
// of the sent message short (links and tokens can be long, SMTP allows 998 octets a line) and
// 7-bit clean (non-ASCII text survives relays that do not speak 8BITMIME), while staying
// readable in a raw dump.

// Rule 5: encoded lines are at most 76 characters, the `=` of a soft line break included.
const MAX_ENCODED_LINE = 76;
const EQUALS = 0x3d;
const SPACE = 0x20;
const TAB = 0x09;

/** Encodes UTF-8 text; its line breaks (LF, CRLF or CR) become CRLF hard line breaks. */
export function encodeQuotedPrintable(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(encodeLine)
    .join('\r\n');
}

function encodeLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  const lines: string[] = [];
  let current = '';
  for (const [index, byte] of bytes.entries()) {
    const token = encodeByte(byte, index === bytes.length - 1);
    // Leave room for the `=` of a soft line break; a token (such as `=C3`) is never split.
    if (current.length + token.length > MAX_ENCODED_LINE - 1) {
      lines.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  lines.push(current);
  return lines.join('\r\n');
}

function encodeByte(byte: number, atEndOfLine: boolean): string {
  // Rule 3: a space or tab at the end of a line would be stripped by some relays, so it is encoded.
  if (byte === SPACE || byte === TAB) return atEndOfLine ? hex(byte) : String.fromCharCode(byte);
  // Rule 2: printable ASCII stands for itself, except `=` itself.
  if (byte >= 33 && byte <= 126 && byte !== EQUALS) return String.fromCharCode(byte);
  return hex(byte);
}

function hex(byte: number): string {
  return `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

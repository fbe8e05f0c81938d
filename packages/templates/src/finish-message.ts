import { encodeAddressHeader, encodeHeaderText, isPlainHeaderText } from './mime-header.js';

// What a template renders is text with the line endings of the template file. What goes to the
// SMTP server must be an RFC 5322 message: CRLF everywhere, ASCII headers, ending in CRLF.

const ADDRESS_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'sender']);
// Structured headers whose syntax an encoded-word would break; non-ASCII in them is left as it is.
const STRUCTURED_HEADERS = new Set([
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'content-id',
  'received',
  'return-path',
]);

export class MalformedMessage extends Error {
  override readonly name = 'MalformedMessage';
}

// RFC 5322 §2.2: a header field starts with its name, printable ASCII but the colon, and a colon.
const HEADER_FIELD_START = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * Turns a rendered template into the message to send: CRLF line endings, no blank lines before
 * the first header (left by a leading `{% set %}` or comment), non-ASCII header values encoded
 * (RFC 2047; operators' Sydent-format templates often write a translated Subject as it is), and a
 * final CRLF. The body is not touched: its parts say their own transfer encoding.
 *
 * A rendered text that does not start with a header field (matrix-is-tester's `<<<{{ token }}>>>`)
 * is sent as Sydent sends it: the whole text is the message, with nothing added. Sydent hands
 * the rendered string to smtplib's sendmail as it is; a reader (Python's email parser, mailparser)
 * sees a message without headers whose body is that text. Our SMTP envelope still says whom it is
 * from and for.
 */
export function finishMessage(rendered: string): string {
  const text = rendered.replace(/\r\n|\r|\n/g, '\r\n');
  const message = text.replace(/^(?:[ \t]*\r\n)+/, '');
  if (!HEADER_FIELD_START.test(message)) return endsInCrlf(text);
  const end = message.indexOf('\r\n\r\n');
  if (end < 0) throw new MalformedMessage('the rendered message has no blank line between its headers and its body');
  const headers = groupFields(message.slice(0, end)).map(encodeField);
  return `${headers.join('\r\n')}\r\n\r\n${endsInCrlf(message.slice(end + 4))}`;
}

function endsInCrlf(text: string): string {
  return text.endsWith('\r\n') ? text : `${text}\r\n`;
}

/** Header lines grouped into fields: a line starting with a space or tab continues the one before. */
function groupFields(head: string): string[] {
  const fields: string[] = [];
  for (const line of head.split('\r\n')) {
    const last = fields.length - 1;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last >= 0) fields[last] += `\r\n${line}`;
    else fields.push(line);
  }
  return fields;
}

function encodeField(field: string): string {
  if (isPlainHeaderText(field.replace(/\r\n/g, ''))) return field;
  const colon = field.indexOf(':');
  if (colon <= 0) return field;
  const name = field.slice(0, colon);
  const key = name.trim().toLowerCase();
  if (STRUCTURED_HEADERS.has(key)) return field;
  // Unfold before encoding: the folding whitespace is not part of the value (RFC 5322 §2.2.3).
  const value = field
    .slice(colon + 1)
    .replace(/\r\n(?=[ \t])/g, '')
    .trim();
  return `${name}: ${ADDRESS_HEADERS.has(key) ? encodeAddressHeader(value) : encodeHeaderText(value)}`;
}

/**
 * The Message-ID a finished message carries (as the template wrote it), or undefined for one
 * without it (a headerless template's, or one whose headers leave it out): what a delivery records
 * must be what the recipient's copy can be found by.
 */
export function messageIdOf(message: string): string | undefined {
  if (!HEADER_FIELD_START.test(message)) return undefined;
  const end = message.indexOf('\r\n\r\n');
  const head = end < 0 ? message : message.slice(0, end);
  const field = groupFields(head).find(
    (line) => line.slice(0, line.indexOf(':')).trim().toLowerCase() === 'message-id',
  );
  const value = field
    ?.slice(field.indexOf(':') + 1)
    .replace(/\r\n/g, '')
    .trim();
  return value === undefined || value === '' ? undefined : value;
}

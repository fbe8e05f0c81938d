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

/**
 * Turns a rendered template into the message to send: CRLF line endings, no blank lines before
 * the first header (left by a leading `{% set %}` or comment), non-ASCII header values encoded
 * (RFC 2047; operators' Sydent-format templates often write a translated Subject as it is), and a
 * final CRLF. The body is not touched: its parts say their own transfer encoding.
 */
export function finishMessage(rendered: string): string {
  const text = rendered.replace(/\r\n|\r|\n/g, '\r\n').replace(/^(?:[ \t]*\r\n)+/, '');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new MalformedMessage('the rendered message has no blank line between its headers and its body');
  const headers = groupFields(text.slice(0, end)).map(encodeField);
  const body = text.slice(end + 4);
  return `${headers.join('\r\n')}\r\n\r\n${body.endsWith('\r\n') ? body : `${body}\r\n`}`;
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

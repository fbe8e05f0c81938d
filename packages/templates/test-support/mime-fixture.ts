// A minimal MIME splitter for this package's tests, to look at each part's own headers and raw
// lines; the decoding is libmime's (and mailparser reads whole messages in the tests). Not
// exported from the package.
import { decode as decodeQuotedPrintable } from 'libqp';

export type ParsedPart = { headers: Map<string, string>; body: string };

/** Header names lower-cased, values unfolded; the body as it is. */
export function parseMessage(raw: string): ParsedPart {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no blank line after the headers');
  const headers = new Map<string, string>();
  for (const field of raw
    .slice(0, end)
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')) {
    const colon = field.indexOf(':');
    headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(end + 4) };
}

/** The parts of a multipart body between `--boundary` lines (RFC 2046 §5.1.1). */
export function splitMultipart(body: string, boundary: string): ParsedPart[] {
  const delimiter = `\r\n--${boundary}`;
  const sections = `\r\n${body}`.split(delimiter);
  const closing = sections.findIndex((section) => section.startsWith('--'));
  if (closing < 0) throw new Error('no closing boundary');
  return sections.slice(1, closing).map((section) => parseMessage(section.replace(/^\r\n/, '')));
}

export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary="?([^";]+)"?/.exec(contentType ?? '');
  if (!match?.[1]) throw new Error(`no boundary in ${contentType}`);
  return match[1];
}

/** The text of a part, its transfer encoding undone. */
export function partText(part: ParsedPart): string {
  const encoding = part.headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body).toString('utf8');
  if (encoding === 'base64') return Buffer.from(part.body, 'base64').toString('utf8');
  return part.body;
}

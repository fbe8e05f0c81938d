// RFC 2047 encoded-words for header values that are not plain ASCII: a header may only carry
// ASCII, so "Bestätigen" in a Subject must travel as =?UTF-8?B?...?=.

// Each encoded-word carries at most this many UTF-8 bytes: 36 bytes are 48 base64 characters,
// 60 with the `=?UTF-8?B?` and `?=` around them, so "Subject: " and the first word stay within
// the 78 characters RFC 5322 recommends (the hard limit, 998, is far away), and every word stays
// under the 75 that RFC 2047 allows.
const BYTES_PER_WORD = 36;
const PLAIN = /^[\x20-\x7e\t]*$/;

/** Whether a header value can go out as it is: printable ASCII, spaces and tabs only. */
export function isPlainHeaderText(value: string): boolean {
  return PLAIN.test(value);
}

/**
 * The value of an unstructured header (Subject, a display name): unchanged when it is plain
 * ASCII, otherwise a run of base64 encoded-words folded onto continuation lines. Control
 * characters (a stray CR or LF) are encoded too, so a value can never start a header of its own.
 */
export function encodeHeaderText(value: string): string {
  if (isPlainHeaderText(value)) return value;
  const words: string[] = [];
  let chunk = '';
  let chunkBytes = 0;
  // Code point by code point, so no UTF-8 sequence is cut between two words (RFC 2047 §5).
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8');
    if (chunkBytes + size > BYTES_PER_WORD) {
      words.push(encodedWord(chunk));
      chunk = '';
      chunkBytes = 0;
    }
    chunk += char;
    chunkBytes += size;
  }
  if (chunk !== '') words.push(encodedWord(chunk));
  // Readers join adjacent encoded-words without the folding whitespace between them (§6.2).
  return words.join('\r\n ');
}

function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/**
 * An address header's value (From, To…) with each non-ASCII display name encoded:
 * `Zoë <z@example.org>` → `=?UTF-8?B?Wm/Dqw==?= <z@example.org>`. The addresses themselves are
 * left alone: an encoded-word is not allowed there, and a non-ASCII address needs SMTPUTF8.
 */
export function encodeAddressHeader(value: string): string {
  return splitMailboxes(value).map(encodeMailbox).join(', ');
}

function encodeMailbox(mailbox: string): string {
  const trimmed = mailbox.trim();
  const match = /^([\s\S]*?)<([^<>]*)>$/.exec(trimmed);
  if (match === null) return trimmed;
  const [, rawName = '', address = ''] = match;
  const name = unquote(rawName.trim());
  if (isPlainHeaderText(name)) return trimmed;
  return `${encodeHeaderText(name)} <${address}>`;
}

function unquote(name: string): string {
  return name.startsWith('"') && name.endsWith('"') && name.length >= 2
    ? name.slice(1, -1).replace(/\\([\s\S])/g, '$1')
    : name;
}

/** Splits a mailbox list at the commas that are outside quotes and angle brackets. */
function splitMailboxes(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const char = value.charAt(i);
    if (quoted && char === '\\') {
      current += char + value.charAt(i + 1);
      i++;
      continue;
    }
    if (char === '"' && !angle) quoted = !quoted;
    else if (char === '<' && !quoted) angle = true;
    else if (char === '>' && !quoted) angle = false;
    if (char === ',' && !quoted && !angle) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.filter((part) => part.trim() !== '');
}

import libmime from 'libmime';

// RFC 2047 encoded-words for header values that are not plain ASCII: a header may only carry
// ASCII, so "Bestätigen" in a Subject must travel as =?UTF-8?B?...?=. libmime makes the words.

// Each encoded-word is at most 60 characters: 36 UTF-8 bytes as 48 base64 characters between
// `=?UTF-8?B?` and `?=`, so "Subject: " and the first word stay within the 78 characters
// RFC 5322 recommends (the hard limit, 998, is far away), and every word stays under the 75 that
// RFC 2047 allows. libmime never cuts a UTF-8 sequence between two words (§5).
const MAX_WORD_LENGTH = 60;
const PLAIN = /^[\x20-\x7e\t]*$/;

/** Whether a header value can go out as it is: printable ASCII, spaces and tabs only. */
export function isPlainHeaderText(value: string): boolean {
  return PLAIN.test(value);
}

/**
 * The value of an unstructured header (Subject, a display name): unchanged when it is plain
 * ASCII, otherwise encoded-words, one a line (folded). The whole value is encoded, control
 * characters (a stray CR or LF) included, so a value can never start a header of its own: that is
 * why this is libmime's encodeWord, not encodeWords, which leaves CR and LF as they are.
 */
export function encodeHeaderText(value: string): string {
  if (isPlainHeaderText(value)) return value;
  // libmime separates the words with a space (base64 has none); readers join adjacent
  // encoded-words without the folding whitespace between them (§6.2).
  return libmime.encodeWord(value, 'B', MAX_WORD_LENGTH).replaceAll(' ', '\r\n ');
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

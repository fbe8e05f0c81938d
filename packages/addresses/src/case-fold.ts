import { CASE_FOLDING_ENTRIES } from './case-folding-table.js';

/** Code point → its full case folding, parsed once when the module loads (1 530 entries). */
const FOLDINGS: ReadonlyMap<number, string> = parseEntries(CASE_FOLDING_ENTRIES);

function parseEntries(entries: string): Map<number, string> {
  const foldings = new Map<number, string>();
  for (const entry of entries.split(/\s+/)) {
    if (entry === '') continue;
    const [from, to] = entry.split(':');
    if (from === undefined || to === undefined) throw new Error(`case folding table: bad entry ${entry}`);
    const replacement = String.fromCodePoint(...to.split('.').map((hex) => Number.parseInt(hex, 16)));
    foldings.set(Number.parseInt(from, 16), replacement);
  }
  return foldings;
}

/** Any UTF-16 code unit outside ASCII (surrogates included, so any non-BMP character too). */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Unicode full case folding (CaseFolding.txt statuses C and F), as Python's `str.casefold()` and
 * Sydent apply it: `Strauß` → `strauss`, `ς` → `σ`, `ﬁ` → `fi`. Not `toLowerCase()`, which keeps
 * `ß`, `ς` and `ﬁ` and turns Cherokee the other way. No NFC/NFKC normalisation, exactly as in Python.
 */
export function caseFold(text: string): string {
  // Most addresses are ASCII, and there the table is exactly A-Z → a-z, which toLowerCase does faster.
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  let folded = '';
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0; // for…of yields whole code points (or lone surrogates)
    folded += FOLDINGS.get(codePoint) ?? char;
  }
  return folded;
}

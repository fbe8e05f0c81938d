import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { caseFold } from './case-fold.js';
import { CASE_FOLDING_ENTRIES } from './case-folding-table.js';

// The generated table as the tests read it: each code point it lists and what that folds to.
const TABLE = CASE_FOLDING_ENTRIES.trim()
  .split(/\s+/)
  .map((entry) => {
    const [from = '', to = ''] = entry.split(':');
    return {
      codePoint: Number.parseInt(from, 16),
      folded: String.fromCodePoint(...to.split('.').map((h) => Number.parseInt(h, 16))),
    };
  });
const TABLE_CHARS = TABLE.map(({ codePoint }) => String.fromCodePoint(codePoint));

// A seeded generator (mulberry32), so a failing sample can be reproduced.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Strings of 1..12 characters drawn from the table's code points, with some ASCII mixed in. */
function sampleStrings(count: number): string[] {
  const next = random(0x7e55e7a);
  const alphabet = [...TABLE_CHARS, ...'abcXYZ09@.-+'];
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 12);
    return Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)] ?? '').join('');
  });
}

describe('caseFold', () => {
  it('folds ß and capital ẞ (U+1E9E) to ss, where toLowerCase keeps ß', () => {
    assert.equal(caseFold('Straße'), 'strasse');
    assert.equal(caseFold('STRA\u1E9EE'), 'strasse');
    assert.equal('Straße'.toLowerCase(), 'straße');
  });

  it('folds the ﬁ ligature (U+FB01) to fi', () => {
    assert.equal(caseFold('\uFB01le'), 'file');
  });

  it('folds Σ, ς and σ to σ', () => {
    assert.equal(caseFold('Σ'), 'σ');
    assert.equal(caseFold('ς'), 'σ');
    assert.equal(caseFold('σ'), 'σ');
    assert.equal(caseFold('ΟΔΟΣ'), caseFold('οδος'));
  });

  it('folds İ (U+0130) to i + U+0307 (status F, not the Turkic T mapping to i)', () => {
    assert.equal(caseFold('\u0130'), 'i\u0307');
  });

  it('folds Cherokee small letters to the capitals, as CaseFolding.txt does', () => {
    assert.equal(caseFold('\u13F8'), '\u13F0'); // ᏸ → Ᏸ
    assert.equal(caseFold('\u13F0'), '\u13F0'); // Ᏸ stays
    assert.equal(caseFold('\uAB70'), '\u13A0'); // ꭰ → Ꭰ
  });

  it('folds characters outside the BMP (𐐀 U+10400 → 𐐨 U+10428)', () => {
    assert.equal(caseFold('\u{10400}x'), '\u{10428}x');
  });

  it('folds the Kelvin sign (U+212A) to k', () => {
    assert.equal(caseFold('\u212A'), 'k');
  });

  it('leaves characters without a folding as they are', () => {
    const unchanged = 'abc 019 @.-+ 例子 😀 \u{10428} ǆ';
    assert.equal(caseFold(unchanged), unchanged);
  });

  it('maps ASCII exactly as toLowerCase does (A-Z → a-z and nothing else), so its fast path is exact', () => {
    const ascii = TABLE.filter(({ codePoint }) => codePoint < 0x80);
    assert.deepEqual(
      ascii.map(({ codePoint, folded }) => [String.fromCodePoint(codePoint), folded]),
      [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => [c, c.toLowerCase()]),
    );
  });

  it('never folds a character to fewer UTF-8 octets than its UTF-16 code units (email relies on it)', () => {
    for (const { codePoint, folded } of TABLE) {
      const source = String.fromCodePoint(codePoint);
      assert.ok(Buffer.byteLength(folded) >= source.length, `U+${codePoint.toString(16)}`);
    }
  });

  it('is idempotent over every table entry and a random sample', () => {
    for (const text of [...TABLE_CHARS, ...sampleStrings(300)]) assert.equal(caseFold(caseFold(text)), caseFold(text));
  });

  it("agrees with Python's str.casefold on every table entry and 400 random strings", () => {
    // The system Python is on every machine of this project. Debian 12's 3.11 (Unicode 14) agrees with
    // our 15.0.0 table on every code point, and Unicode keeps the folding of an assigned character
    // stable, so newer Pythons agree on these characters too.
    const texts = [...TABLE_CHARS, ...sampleStrings(400)];
    const script = 'import json, sys; print(json.dumps([t.casefold() for t in json.load(sys.stdin)]))';
    const python = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(texts) }).toString(),
    );
    assert.deepEqual(
      texts.map((text) => caseFold(text)),
      python,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from 'libqp';
import { encodeQuotedPrintable } from './quoted-printable.js';

const linesOf = (encoded: string) => encoded.split('\r\n');
const decodeQuotedPrintable = (encoded: string) => decode(encoded).toString('utf8');

describe('encodeQuotedPrintable', () => {
  it('gives back the same text once decoded, non-ASCII and long lines included', () => {
    const text = `Grüße, Zoë! 🎉 = 100%\n${'https://example.org/?a=1&b=2 '.repeat(12)}end\n\ttabbed`;
    assert.equal(decodeQuotedPrintable(encodeQuotedPrintable(text)), text.replace(/\n/g, '\r\n'));
  });

  it('keeps every encoded line within 76 characters and 7-bit ASCII', () => {
    const encoded = encodeQuotedPrintable(`${'é'.repeat(100)}\n${'x'.repeat(500)}\n${'a='.repeat(90)}`);
    for (const line of linesOf(encoded)) {
      assert.ok(line.length <= 76, `line of ${line.length}: ${line}`);
      assert.match(line, /^[\x20-\x7e]*$/);
    }
  });

  it('encodes `=` and a space or tab at the end of a line, and never splits an =XX triplet', () => {
    assert.equal(encodeQuotedPrintable('a=b '), 'a=3Db=20');
    assert.equal(encodeQuotedPrintable('tab\t\nnext'), 'tab=09\r\nnext');
    const encoded = encodeQuotedPrintable(`${'x'.repeat(73)}é`);
    assert.deepEqual(linesOf(encoded), [`${'x'.repeat(73)}=`, '=C3=A9']);
  });

  it('turns LF, CR and CRLF line breaks into CRLF', () => {
    assert.equal(encodeQuotedPrintable('a\nb\r\nc\rd'), 'a\r\nb\r\nc\r\nd');
  });

  it('leaves a line that needs no encoding as it is, up to 76 characters', () => {
    const indented = `    <a href="https://id.example.org/verify?sid=x">Verify</a>`.replaceAll('=', '');
    assert.equal(encodeQuotedPrintable(indented), indented);
    assert.equal(encodeQuotedPrintable('y'.repeat(76)), 'y'.repeat(76));
    assert.deepEqual(linesOf(encodeQuotedPrintable('y'.repeat(77))), [`${'y'.repeat(75)}=`, 'yy']);
    assert.equal(encodeQuotedPrintable('plain but for the end '), 'plain but for the end=20');
  });

  it('round-trips random text of every kind of character within the line limits', () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '=', ' ', '\t', '\n', '\r\n', 'é', '€', '🎉', '~', '.', '\u0000', '\u007f'];
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: random(200) }, () => alphabet[random(alphabet.length)]).join('');
      const encoded = encodeQuotedPrintable(text);
      assert.equal(decodeQuotedPrintable(encoded), text.replace(/\r\n|\r|\n/g, '\r\n'), JSON.stringify(text));
      for (const line of linesOf(encoded)) {
        assert.ok(line.length <= 76, `line of ${line.length}`);
        assert.match(line, /^(?:[\t\x20-\x7e]*[\x21-\x7e])?$/, 'printable, no space or tab at the end');
      }
    }
  });
});

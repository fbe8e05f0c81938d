import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import libmime from 'libmime';
import { encodeAddressHeader, encodeHeaderText } from './mime-header.js';

describe('encodeHeaderText', () => {
  it('leaves printable ASCII as it is', () => {
    assert.equal(encodeHeaderText('Confirm your email address'), 'Confirm your email address');
  });

  it('encodes non-ASCII text as UTF-8 encoded-words that decode to the same text', () => {
    const subject = 'Bestätigen Sie Ihre E-Mail-Adresse für Matrix — 确认您的电子邮件地址 🎉';
    const encoded = encodeHeaderText(subject);
    assert.match(encoded, /^=\?UTF-8\?B\?/);
    assert.equal(libmime.decodeWords(encoded), subject);
    for (const line of encoded.split('\r\n')) {
      assert.match(line, /^[\x20-\x7e]+$/);
      assert.ok(line.trim().length <= 75, 'an encoded-word is at most 75 characters');
    }
  });

  it('encodes a line break instead of letting it start a header of its own', () => {
    const encoded = encodeHeaderText('hi\r\nBcc: someone@example.org');
    assert.ok(!encoded.includes('\r\nBcc'));
    assert.equal(libmime.decodeWords(encoded), 'hi\r\nBcc: someone@example.org');
  });
});

describe('encodeAddressHeader', () => {
  it('encodes a non-ASCII display name and leaves the address alone', () => {
    const encoded = encodeAddressHeader('Zoë Müller <zoe@example.org>');
    assert.match(encoded, /^=\?UTF-8\?B\?[^ ]+\?= <zoe@example\.org>$/);
    assert.equal(libmime.decodeWords(encoded), 'Zoë Müller <zoe@example.org>');
  });

  it('unquotes a quoted display name with a comma, and keeps ASCII mailboxes of a list as they are', () => {
    const encoded = encodeAddressHeader('"Müller, Zoë" <zoe@example.org>, Bob <bob@example.org>, carol@example.org');
    assert.equal(
      libmime.decodeWords(encoded),
      'Müller, Zoë <zoe@example.org>, Bob <bob@example.org>, carol@example.org',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseNextLink } from './next-link.js';

const invalidParam = (err: unknown) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM';

describe('next_link', () => {
  it('is none when absent or empty', () => {
    assert.equal(parseNextLink(undefined), null);
    assert.equal(parseNextLink(''), null);
  });

  it('keeps an absolute http(s) URL with a host exactly as given', () => {
    for (const good of [
      'https://app.element.io/#/home',
      'http://a.example',
      'https://a.example/x?y=1&z=%20',
      'HTTPS://A.EXAMPLE/Path',
      `https://a.example/${'x'.repeat(2048 - 'https://a.example/'.length)}`,
    ])
      assert.equal(parseNextLink(good), good);
  });

  it('refuses other schemes, relative links, links without a host, and over-long ones', () => {
    for (const bad of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      'data:text/html,<script>x</script>',
      'mailto:a@example.org',
      '/relative',
      'example.org/path',
      'https://',
      `https://a.example/${'x'.repeat(2048)}`,
    ])
      assert.throws(() => parseNextLink(bad), invalidParam, bad);
  });

  it('refuses whitespace and control characters, which could split the Location header', () => {
    for (const bad of [
      'https://a.example/\r\nSet-Cookie: x=1',
      'https://a.example/a b',
      'https://a.example/\t',
      'https://a.example/\u0000',
    ])
      assert.throws(() => parseNextLink(bad), invalidParam, JSON.stringify(bad));
  });
});

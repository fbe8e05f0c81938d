import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verificationLink } from './verification-link.js';

describe('verificationLink', () => {
  it('points at v1 GET submitToken under the public base URL, with token, client_secret and sid', () => {
    const link = verificationLink('https://id.example.org', { token: 'abc123', clientSecret: 'secret-1', sid: '42' });
    assert.equal(
      link,
      'https://id.example.org/_matrix/identity/api/v1/validate/email/submitToken?token=abc123&client_secret=secret-1&sid=42',
    );
  });

  it('URL-encodes each value, so a client secret with `=` or `&` comes back unchanged', () => {
    const link = new URL(
      verificationLink('https://id.example.org/base/', { token: 't o&k', clientSecret: 'a=b&c', sid: 's.1_=' }),
    );
    assert.equal(link.pathname, '/base/_matrix/identity/api/v1/validate/email/submitToken');
    assert.equal(link.searchParams.get('token'), 't o&k');
    assert.equal(link.searchParams.get('client_secret'), 'a=b&c');
    assert.equal(link.searchParams.get('sid'), 's.1_=');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseServerName } from './server-name.js';

describe('parseServerName', () => {
  it('reads host names, with and without a port, in lowercase', () => {
    assert.deepEqual(parseServerName('Matrix.Example.ORG'), {
      hostname: 'matrix.example.org',
      port: undefined,
      ipLiteral: false,
      text: 'matrix.example.org',
    });
    assert.deepEqual(parseServerName('localhost:8448'), {
      hostname: 'localhost',
      port: 8448,
      ipLiteral: false,
      text: 'localhost:8448',
    });
  });

  it('reads IPv4 and bracketed IPv6 literals, with and without a port', () => {
    assert.deepEqual(parseServerName('1.2.3.4'), {
      hostname: '1.2.3.4',
      port: undefined,
      ipLiteral: true,
      text: '1.2.3.4',
    });
    assert.deepEqual(parseServerName('[2001:DB8::1]:8449'), {
      hostname: '2001:db8::1',
      port: 8449,
      ipLiteral: true,
      text: '[2001:db8::1]:8449',
    });
  });

  it('answers 400 M_INVALID_PARAM for anything else', () => {
    const invalid = [
      '',
      'exa mple.org',
      'exa_mple.org',
      'a..b',
      '.example.org',
      'host:',
      'host:0',
      'host:65536',
      'host:123456',
      '::1',
      '[::1',
      '[not-an-ip]',
      '[fe80::1%eth0]',
      '@alice:example.org',
      'host:80:80',
      `${'a'.repeat(64)}.org`,
      'https://example.org',
    ];
    for (const name of invalid) {
      assert.throws(
        () => parseServerName(name),
        (err: unknown) =>
          err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM' && err.message === 'invalid server name',
        name,
      );
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseClientSecret, parseSid, parseUserId, parseValidationToken } from './identifiers.js';

const invalidParam = (err: unknown) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM';

describe('client_secret and sid', () => {
  for (const [name, parse] of [
    ['client_secret', parseClientSecret],
    ['sid', parseSid],
  ] as const) {
    it(`takes a ${name} of 1 to 255 characters of [0-9a-zA-Z.=_-], unchanged`, () => {
      for (const good of ['a', 'aZ09.=_-', 'monkeys_are_GREAT', 'x'.repeat(255)]) assert.equal(parse(good), good);
    });

    it(`refuses any other ${name} with M_INVALID_PARAM naming it, not its value`, () => {
      for (const bad of ['', 'x'.repeat(256), 'with space', 'ünïcode', 'a/b', 'a+b', 'a\nb', 'secret!']) {
        assert.throws(
          () => parse(bad),
          (err) =>
            invalidParam(err) &&
            (err as Error).message.startsWith(name) &&
            !(err as Error).message.includes(bad || '\0'),
        );
      }
    });
  }
});

describe('the validation token', () => {
  it('takes 1 to 255 code points, passed on unchanged', () => {
    for (const good of ['123456', 'AbC dEf', '🙂'.repeat(255)]) assert.equal(parseValidationToken(good), good);
  });

  it('refuses an empty token and one of more than 255 code points', () => {
    for (const bad of ['', 'x'.repeat(256), '🙂'.repeat(256)])
      assert.throws(() => parseValidationToken(bad), invalidParam);
  });
});

describe('user IDs', () => {
  it('takes a Matrix user ID unchanged, with the historical localpart grammar and any server name', () => {
    for (const good of [
      '@alice:example.org',
      '@Alice.Old=Style/1:example.org:8448',
      '@a:[2001:db8::1]:8448',
      '@bob:192.0.2.1',
      `@${'a'.repeat(240)}:example.org`,
    ])
      assert.equal(parseUserId(good), good);
  });

  it('refuses anything else with M_INVALID_PARAM naming the parameter', () => {
    for (const bad of [
      '',
      'alice:example.org',
      '@:example.org',
      '@alice',
      '@alice:',
      '@al ice:example.org',
      '@alïce:example.org',
      '@alice:exa_mple.org',
      '@alice:example.org:99999',
      `@${'a'.repeat(250)}:example.org`,
    ]) {
      assert.throws(
        () => parseUserId(bad),
        (err) => invalidParam(err) && (err as Error).message.startsWith('mxid'),
        bad,
      );
    }
  });
});

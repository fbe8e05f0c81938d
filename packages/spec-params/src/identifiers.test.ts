import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseClientSecret, parseSid, parseValidationToken } from './identifiers.js';

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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { parseClientSecret, parseRoomId, parseSid, parseUserId, parseValidationToken } from './identifiers.js';

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

describe('room IDs', () => {
  it('takes a Matrix room ID unchanged: with a server name (room versions before 12) or without (12)', () => {
    for (const good of [
      '!room:example.org',
      '!OGEhHVWSdvArJzumhm:matrix.org',
      '!a:[2001:db8::1]:8448',
      '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM', // room version 12: the create event's hash
      '!ünïcode:example.org',
      `!${'a'.repeat(254)}`,
      `!${'é'.repeat(127)}`, // 1 + 254 bytes
    ])
      assert.equal(parseRoomId(good), good);
  });

  it('refuses anything else (no sigil, whitespace, control characters, over 255 bytes) with M_INVALID_PARAM naming the parameter', () => {
    for (const bad of [
      '',
      '!',
      'room:example.org',
      '#alias:example.org',
      '@alice:example.org',
      '!room:example.org\nBcc: victim@example.org',
      '!room\r:example.org',
      '!room\0:example.org',
      '!room\u007f:example.org',
      '!room\u0085:example.org',
      '!ro om:example.org',
      '!room\t:example.org',
      '!room\u00a0:example.org',
      '!room\u2028:example.org',
      '!room\ud800:example.org',
      `!${'a'.repeat(255)}`,
      `!${'é'.repeat(128)}`, // 1 + 256 bytes
    ]) {
      assert.throws(
        () => parseRoomId(bad),
        (err) => invalidParam(err) && (err as Error).message.startsWith('room_id'),
        JSON.stringify(bad),
      );
    }
  });

  it('names the parameter it is given', () => {
    assert.throws(
      () => parseRoomId('room', 'invite.room_id'),
      (err) => invalidParam(err) && (err as Error).message.startsWith('invite.room_id'),
    );
  });
});

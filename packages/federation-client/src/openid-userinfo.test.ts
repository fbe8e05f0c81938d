import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpsResponse } from './guarded-request.js';
import { rejectsToken, subOf } from './openid-userinfo.js';
import { OutboundError } from './outbound-error.js';

const reply = (status: number, body: string): HttpsResponse => ({
  status,
  headers: {},
  body: Buffer.from(body),
  from: 'hs.example:8448',
});
const isFailure = (failure: OutboundError['failure']) => (err: unknown) =>
  err instanceof OutboundError && err.failure === failure;

describe('reading an OpenID userinfo reply', () => {
  it('gives the sub of a 200', () => {
    assert.equal(subOf(reply(200, '{"sub":"@alice:hs.example"}')), '@alice:hs.example');
  });

  it('counts 401, 403 and 404 as a rejected token, and nothing else', () => {
    for (const status of [401, 403, 404]) assert.equal(rejectsToken(reply(status, '')), true, String(status));
    for (const status of [200, 400, 429, 500, 502, 301])
      assert.equal(rejectsToken(reply(status, '')), false, String(status));
  });

  it('calls a 200 without a string sub an unexpected reply', () => {
    for (const body of ['{}', '{"sub":42}', '{"sub":""}', '[]', 'null', '"@a:b"'])
      assert.throws(() => subOf(reply(200, body)), isFailure('unexpected-reply'), body);
  });

  it('calls a 200 that is not JSON a not-json failure', () => {
    assert.throws(() => subOf(reply(200, '<html>')), isFailure('not-json'));
  });

  it('calls any other status an unexpected reply', () => {
    for (const status of [500, 302, 429])
      assert.throws(() => subOf(reply(status, '{"sub":"@a:b"}')), isFailure('unexpected-reply'));
  });
});

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import {
  ALICE_TOKEN,
  asReceived,
  BOB_TOKEN,
  POLICIES,
  type SessionApp,
  startSessionApp,
} from '../../test-support/session-fixture.js';

let app: SessionApp;
before(async () => {
  app = await startSessionApp();
});
after(() => app.close());
beforeEach(() => app.session.reset());

const secret = 'monkeys_are_GREAT';
const emailBody = { client_secret: secret, email: 'alice@example.org', send_attempt: 1 };
const phoneBody = { client_secret: secret, country: 'GB', phone_number: '07400 123456', send_attempt: 1 };
const submission = { sid: 'sid-1', client_secret: secret, token: 'a1b2c3' };
const validatedQuery = `sid=sid-1&client_secret=${secret}`;

// Every v2 endpoint the spec authenticates, with a request that would otherwise succeed.
const AUTHENTICATED: { method: 'GET' | 'POST'; path: string; json?: unknown; termsChecked: boolean }[] = [
  { method: 'POST', path: '/validate/email/requestToken', json: emailBody, termsChecked: true },
  { method: 'POST', path: '/validate/msisdn/requestToken', json: phoneBody, termsChecked: true },
  { method: 'POST', path: '/validate/email/submitToken', json: submission, termsChecked: true },
  { method: 'POST', path: '/validate/msisdn/submitToken', json: submission, termsChecked: true },
  { method: 'GET', path: `/3pid/getValidated3pid?${validatedQuery}`, termsChecked: true },
  { method: 'GET', path: '/account', termsChecked: true },
  { method: 'POST', path: '/account/logout', json: {}, termsChecked: false },
  { method: 'POST', path: '/terms', json: { user_accepts: [] }, termsChecked: false },
];

describe('v2 authentication', () => {
  it('answers 401 M_UNAUTHORIZED without a token on every authenticated v2 route', async () => {
    for (const { method, path, json } of AUTHENTICATED) {
      const res = await app.call(`/v2${path}`, { method, json });
      assert.equal(res.status, 401, path);
      assert.equal(res.body?.errcode, 'M_UNAUTHORIZED', path);
    }
    assert.deepEqual(app.session.calls, [], 'nothing reached the session service');
  });

  it('answers 401 M_UNAUTHORIZED for a token the session service does not know', async () => {
    const res = await app.call('/v2/account', { token: 'stranger' });
    assert.equal(res.status, 401);
    assert.equal(res.body?.errcode, 'M_UNAUTHORIZED');
  });

  it('accepts the token as the access_token query parameter, the header first when both are given', async () => {
    const byQuery = await app.call(`/v2/account?access_token=${ALICE_TOKEN}`);
    assert.deepEqual(byQuery.body, { user_id: '@alice:example.org' });
    const both = await app.call('/v2/account?access_token=stranger', { token: ALICE_TOKEN });
    assert.equal(both.status, 200);
    assert.deepEqual(
      app.session.callsOf('authenticate').map((call) => call.request.token),
      [ALICE_TOKEN, ALICE_TOKEN],
    );
  });

  it('answers 403 M_TERMS_NOT_SIGNED until the terms are accepted, except on logout and POST /terms', async () => {
    for (const { method, path, json, termsChecked } of AUTHENTICATED) {
      const res = await app.call(`/v2${path}`, { method, json, token: BOB_TOKEN });
      if (termsChecked) {
        assert.equal(res.status, 403, path);
        assert.equal(res.body?.errcode, 'M_TERMS_NOT_SIGNED', path);
      } else {
        assert.equal(res.status, 200, `${path}: ${res.text}`);
      }
    }
    assert.equal(app.session.callsOf('requestToken').length, 0);
    assert.equal(app.session.callsOf('logout').length, 1);
    assert.equal(app.session.callsOf('acceptTerms').length, 1);
  });

  it('needs no token on v1', async () => {
    assert.equal((await app.call('/api/v1/validate/email/requestToken', { json: emailBody })).status, 200);
    assert.equal((await app.call('/api/v1/validate/email/submitToken', { json: submission })).status, 200);
    assert.equal((await app.call(`/api/v1/3pid/getValidated3pid?${validatedQuery}`)).status, 200);
    assert.equal(app.session.callsOf('authenticate').length, 0);
  });
});

describe('GET 3pid/getValidated3pid', () => {
  it('answers medium, address and validated_at on both trees', async () => {
    app.session.script.getValidated3Pid = async () => ({
      medium: Medium.MEDIUM_MSISDN,
      address: '447400123456',
      validatedAt: 1_700_000_000_123,
      clientLowercaseAddress: '',
    });
    for (const res of [
      await app.call(`/v2/3pid/getValidated3pid?${validatedQuery}`, { token: ALICE_TOKEN }),
      await app.call(`/api/v1/3pid/getValidated3pid?${validatedQuery}`),
    ]) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { medium: 'msisdn', address: '447400123456', validated_at: 1_700_000_000_123 });
    }
    assert.deepEqual(app.session.callsOf('getValidated3Pid')[0]?.request, { sid: 'sid-1', clientSecret: secret });
  });

  it("keeps the client's lower-cased address to itself: the answer is the spec's three fields", async () => {
    app.session.script.getValidated3Pid = async () => ({
      medium: Medium.MEDIUM_EMAIL,
      address: 'strasse@example.org',
      validatedAt: 1_700_000_000_123,
      clientLowercaseAddress: 'straße@example.org',
    });
    const res = await app.call(`/api/v1/3pid/getValidated3pid?${validatedQuery}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { medium: 'email', address: 'strasse@example.org', validated_at: 1_700_000_000_123 });
  });

  it('passes M_SESSION_NOT_VALIDATED and M_NO_VALID_SESSION through with their statuses', async () => {
    for (const [errcode, status] of [
      ['M_SESSION_NOT_VALIDATED', 400],
      ['M_NO_VALID_SESSION', 404],
    ] as const) {
      app.session.script.getValidated3Pid = async () => {
        throw asReceived(new TesseraError(errcode, 'no'));
      };
      const res = await app.call(`/api/v1/3pid/getValidated3pid?${validatedQuery}`);
      assert.equal(res.status, status);
      assert.equal(res.body?.errcode, errcode);
    }
  });

  it('names a missing client_secret and refuses a malformed sid', async () => {
    const missing = await app.call('/api/v1/3pid/getValidated3pid?sid=sid-1');
    assert.equal(missing.body?.errcode, 'M_MISSING_PARAMS');
    assert.match(String(missing.body?.error), /client_secret/);
    const bad = await app.call(`/api/v1/3pid/getValidated3pid?sid=${encodeURIComponent('a b')}&client_secret=x`);
    assert.equal(bad.body?.errcode, 'M_INVALID_PARAM');
  });
});

describe('v2 accounts', () => {
  const openid = {
    access_token: 'openid-abc',
    token_type: 'Bearer',
    matrix_server_name: 'example.org',
    expires_in: 3600,
  };

  it('registers with OpenID credentials and answers the token as token and access_token', async () => {
    const res = await app.call('/v2/account/register', { json: openid });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { token: 'new-token', access_token: 'new-token' });
    assert.deepEqual(app.session.callsOf('registerAccount')[0]?.request, {
      accessToken: 'openid-abc',
      tokenType: 'Bearer',
      matrixServerName: 'example.org',
      expiresIn: 3600,
    });
  });

  it('registers with only access_token and matrix_server_name: token_type is Bearer, expires_in absent', async () => {
    const res = await app.call('/v2/account/register', {
      json: { access_token: 'openid-abc', matrix_server_name: 'example.org' },
    });
    assert.equal(res.status, 200, res.text);
    const { request } = app.session.callsOf('registerAccount')[0] ?? {};
    assert.equal(request?.tokenType, 'Bearer');
    assert.equal(request?.expiresIn, undefined);
    const nulls = await app.call('/v2/account/register', { json: { ...openid, token_type: null, expires_in: null } });
    assert.equal(nulls.status, 200, 'null counts as absent');
  });

  it('refuses register without matrix_server_name, with a string expires_in, or another token_type', async () => {
    const { matrix_server_name: _dropped, ...partial } = openid;
    assert.equal((await app.call('/v2/account/register', { json: partial })).body?.errcode, 'M_MISSING_PARAMS');
    const bad = await app.call('/v2/account/register', { json: { ...openid, expires_in: '3600' } });
    assert.equal(bad.body?.errcode, 'M_INVALID_PARAM');
    for (const tokenType of ['MAC', 'bearer', '', 7]) {
      const res = await app.call('/v2/account/register', { json: { ...openid, token_type: tokenType } });
      assert.deepEqual([res.status, res.body?.errcode], [400, 'M_INVALID_PARAM'], String(tokenType));
    }
    assert.equal(app.session.callsOf('registerAccount').length, 0);
  });

  it('passes the homeserver’s refusal through from the session service', async () => {
    app.session.script.registerAccount = async () => {
      throw asReceived(new TesseraError('M_UNAUTHORIZED', 'the homeserver did not accept the OpenID token'));
    };
    const res = await app.call('/v2/account/register', { json: openid });
    assert.equal(res.status, 401);
    assert.equal(res.body?.errcode, 'M_UNAUTHORIZED');
  });

  it('tells the token holder who they are', async () => {
    const res = await app.call('/v2/account', { token: ALICE_TOKEN });
    assert.deepEqual(res.body, { user_id: '@alice:example.org' });
  });

  it('logs out with or without a body, and answers 401 M_UNKNOWN_TOKEN for an unknown token', async () => {
    assert.deepEqual((await app.call('/v2/account/logout', { method: 'POST', token: ALICE_TOKEN })).body, {});
    assert.deepEqual((await app.call('/v2/account/logout', { json: {}, token: ALICE_TOKEN })).body, {});
    const unknown = await app.call('/v2/account/logout', { method: 'POST', token: 'stranger' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body?.errcode, 'M_UNKNOWN_TOKEN');
    assert.deepEqual(
      app.session.callsOf('logout').map((call) => call.request),
      [{ token: ALICE_TOKEN }, { token: ALICE_TOKEN }, { token: 'stranger' }],
    );
  });

  it('serves accounts and terms on v2 only', async () => {
    for (const path of ['/account', '/terms']) assert.equal((await app.call(`/api/v1${path}`)).status, 404, path);
  });
});

describe('v2 terms', () => {
  it('lists the policies without a token', async () => {
    const res = await app.call('/v2/terms');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { policies: POLICIES });
  });

  it('records the accepted URLs for the token’s user', async () => {
    const urls = ['https://example.org/privacy-1.0-en.html'];
    const res = await app.call('/v2/terms', { json: { user_accepts: urls }, token: ALICE_TOKEN });
    assert.deepEqual(res.body, {});
    assert.deepEqual(app.session.callsOf('acceptTerms')[0]?.request, {
      userId: '@alice:example.org',
      userAccepts: urls,
    });
  });

  it('refuses user_accepts that is missing or not a list of strings', async () => {
    assert.equal((await app.call('/v2/terms', { json: {}, token: ALICE_TOKEN })).body?.errcode, 'M_MISSING_PARAMS');
    for (const userAccepts of ['https://example.org/p', [1], { a: 1 }]) {
      const res = await app.call('/v2/terms', { json: { user_accepts: userAccepts }, token: ALICE_TOKEN });
      assert.equal(res.body?.errcode, 'M_INVALID_PARAM', JSON.stringify(userAccepts));
    }
  });
});

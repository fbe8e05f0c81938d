import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import {
  ALICE_TOKEN,
  asReceived,
  REQUEST_TOKEN_DEADLINE_MS,
  type SessionApp,
  startSessionApp,
  unavailable,
} from '../../test-support/session-fixture.js';

let app: SessionApp;
before(async () => {
  app = await startSessionApp();
});
after(() => app.close());
beforeEach(() => {
  app.session.reset();
  app.limits.reset();
});

const EMAIL = '/validate/email/requestToken';
const MSISDN = '/validate/msisdn/requestToken';
const emailBody = { client_secret: 'monkeys_are_GREAT', email: 'alice@example.org', send_attempt: 1 };
const phoneBody = { client_secret: 'monkeys_are_GREAT', country: 'GB', phone_number: '07400 123456', send_attempt: 1 };

// The same request on both trees: v2 with Alice's token, v1 without any.
const onBoth = (path: string, json: unknown) => [
  app.call(`/v2${path}`, { json, token: ALICE_TOKEN }),
  app.call(`/api/v1${path}`, { json }),
];

describe('POST validate/email/requestToken', () => {
  it('answers the sid on both trees and hands the session service the case-folded address', async () => {
    for (const res of await Promise.all(onBoth(EMAIL, { ...emailBody, email: 'Strauß@Example.COM' }))) {
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { sid: 'sid-1' });
    }
    const calls = app.session.callsOf('requestToken');
    assert.equal(calls.length, 2);
    for (const { request, deadlineMs } of calls) {
      const { accessToken, ...rest } = request;
      assert.deepEqual(rest, {
        medium: Medium.MEDIUM_EMAIL,
        address: 'strauss@example.com',
        clientLowercaseAddress: 'strauß@example.com',
        country: '',
        clientSecret: 'monkeys_are_GREAT',
        sendAttempt: 1,
        nextLink: '',
        brand: '',
        clientIp: '127.0.0.1',
      });
      assert.equal(deadlineMs, REQUEST_TOKEN_DEADLINE_MS);
    }
    // v2 hands over the caller's token, for the session service to check; v1 has none.
    assert.deepEqual(calls.map(({ request }) => request.accessToken).sort(), ['', ALICE_TOKEN]);
  });

  it('hands over the address as matrix-js-sdk lower-cases it where that differs from the folded one, and only there', async () => {
    for (const email of ['Straße@Example.org', 'alice@example.org', 'Alice@Example.ORG']) {
      const res = await app.call(`/api/v1${EMAIL}`, { json: { ...emailBody, email } });
      assert.equal(res.status, 200, res.text);
    }
    assert.deepEqual(
      app.session.callsOf('requestToken').map(({ request }) => [request.address, request.clientLowercaseAddress]),
      [
        ['strasse@example.org', 'straße@example.org'],
        ['alice@example.org', ''],
        ['alice@example.org', ''],
      ],
    );
  });

  it('asks Authenticate once for a v2 token, then only the session service checks it, on every call', async () => {
    const CAROL = 'carol-token';
    app.session.script.authenticate = async ({ token }) => {
      if (token !== CAROL) throw asReceived(new TesseraError('M_UNAUTHORIZED', 'unrecognised access token'));
      return { userId: '@carol:example.org', termsAccepted: true };
    };
    for (let i = 0; i < 3; i++) {
      const res = await app.call(`/v2${EMAIL}`, { json: emailBody, token: CAROL });
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(app.session.callsOf('authenticate').length, 1);
    const calls = app.session.callsOf('requestToken');
    assert.deepEqual(
      calls.map(({ request }) => request.accessToken),
      [CAROL, CAROL, CAROL],
    );
    // Still counted against Carol, not against an address.
    assert.deepEqual(
      app.limits.consumed.filter(({ scope }) => scope === 'user'),
      Array(3).fill({ scope: 'user', subject: '@carol:example.org' }),
    );
  });

  it('answers 401 when the session service no longer knows a token it has seen, and asks Authenticate again next time', async () => {
    const DAVE = 'dave-token';
    let loggedOut = false;
    app.session.script.authenticate = async () => {
      if (loggedOut) throw asReceived(new TesseraError('M_UNAUTHORIZED', 'unrecognised access token'));
      return { userId: '@dave:example.org', termsAccepted: true };
    };
    assert.equal((await app.call(`/v2${EMAIL}`, { json: emailBody, token: DAVE })).status, 200);
    loggedOut = true; // by a logout on another replica, say
    app.session.script.requestToken = async () => {
      throw asReceived(new TesseraError('M_UNAUTHORIZED', 'unrecognised access token'));
    };
    const refused = await app.call(`/v2${EMAIL}`, { json: emailBody, token: DAVE });
    assert.deepEqual([refused.status, refused.body?.errcode], [401, 'M_UNAUTHORIZED']);
    const again = await app.call(`/v2${EMAIL}`, { json: emailBody, token: DAVE });
    assert.deepEqual([again.status, again.body?.errcode], [401, 'M_UNAUTHORIZED']);
    assert.equal(app.session.callsOf('authenticate').length, 2, 'asked again once the token was refused');
    assert.equal(app.session.callsOf('requestToken').length, 2, 'the last one stopped at Authenticate');
  });

  it('passes on 403 M_TERMS_NOT_SIGNED from the session service for a known token', async () => {
    app.session.script.authenticate = async () => ({ userId: '@erin:example.org', termsAccepted: true });
    assert.equal((await app.call(`/v2${EMAIL}`, { json: emailBody, token: 'erin-token' })).status, 200);
    app.session.script.requestToken = async () => {
      throw asReceived(new TesseraError('M_TERMS_NOT_SIGNED', 'please accept the terms of service before continuing'));
    };
    const refused = await app.call(`/v2${EMAIL}`, { json: emailBody, token: 'erin-token' });
    assert.deepEqual([refused.status, refused.body?.errcode], [403, 'M_TERMS_NOT_SIGNED']);
  });

  it('takes a form body with a numeric-string send_attempt on v1, and the query for what the body lacks', async () => {
    const form = await app.call(`/api/v1${EMAIL}?next_link=${encodeURIComponent('https://example.org/done')}`, {
      form: 'client_secret=abc&email=alice%40example.org&send_attempt=3',
    });
    assert.equal(form.status, 200, form.text);
    const json = await app.call(`/api/v1${EMAIL}`, { json: { ...emailBody, send_attempt: '7' } });
    assert.equal(json.status, 200, json.text);
    const [first, second] = app.session.callsOf('requestToken');
    assert.equal(first?.request.sendAttempt, 3);
    assert.equal(first?.request.clientSecret, 'abc');
    assert.equal(first?.request.nextLink, 'https://example.org/done');
    assert.equal(second?.request.sendAttempt, 7);
  });

  it('takes send_attempt as a string of digits on both trees, as Element sends it on v2', async () => {
    for (const path of [EMAIL, MSISDN]) {
      const body = path === EMAIL ? emailBody : phoneBody;
      for (const res of await Promise.all(onBoth(path, { ...body, send_attempt: '12' })))
        assert.equal(res.status, 200, res.text);
    }
    assert.deepEqual(
      app.session.callsOf('requestToken').map(({ request }) => request.sendAttempt),
      [12, 12, 12, 12],
    );
  });

  it('refuses any other send_attempt with M_INVALID_PARAM on both trees, and null as missing', async () => {
    const refused = [-1, 1.5, 2 ** 53, true, {}, [1], '', ' 1', '1 ', '+1', '-1', '1.0', 'one', '9007199254740992'];
    for (const sendAttempt of [...refused, null]) {
      for (const res of await Promise.all(onBoth(EMAIL, { ...emailBody, send_attempt: sendAttempt }))) {
        const expected = sendAttempt === null ? 'M_MISSING_PARAMS' : 'M_INVALID_PARAM';
        assert.equal(res.status, 400, JSON.stringify(sendAttempt));
        assert.equal(res.body?.errcode, expected, JSON.stringify(sendAttempt));
      }
    }
    const phone = await app.call(`/v2${MSISDN}`, { json: { ...phoneBody, send_attempt: '1.0' }, token: ALICE_TOKEN });
    assert.equal(phone.body?.errcode, 'M_INVALID_PARAM');
    assert.equal(app.session.callsOf('requestToken').length, 0);
  });

  it('names a missing parameter with M_MISSING_PARAMS on both trees', async () => {
    for (const field of ['client_secret', 'email', 'send_attempt'] as const) {
      const { [field]: _dropped, ...rest } = emailBody;
      for (const res of await Promise.all(onBoth(EMAIL, rest))) {
        assert.equal(res.status, 400);
        assert.equal(res.body?.errcode, 'M_MISSING_PARAMS');
        assert.match(String(res.body?.error), new RegExp(field));
      }
    }
  });

  it('refuses a client_secret outside [0-9a-zA-Z.=_-]{1,255} with M_INVALID_PARAM', async () => {
    for (const clientSecret of ['', 'has space', 'ümlaut', 'a'.repeat(256), 'semi;colon', 42]) {
      const res = await app.call(`/v2${EMAIL}`, {
        json: { ...emailBody, client_secret: clientSecret },
        token: ALICE_TOKEN,
      });
      assert.equal(res.status, 400, String(clientSecret));
      assert.equal(res.body?.errcode, 'M_INVALID_PARAM', String(clientSecret));
    }
    assert.equal(
      (await app.call(`/v2${EMAIL}`, { json: { ...emailBody, client_secret: 'a'.repeat(255) }, token: ALICE_TOKEN }))
        .status,
      200,
    );
  });

  it('refuses a malformed email address with M_INVALID_EMAIL', async () => {
    for (const email of ['not an email', 'alice@localhost', 'Alice <alice@example.org>', 'mailto:alice@example.org']) {
      const res = await app.call(`/api/v1${EMAIL}`, { json: { ...emailBody, email } });
      assert.equal(res.status, 400, email);
      assert.equal(res.body?.errcode, 'M_INVALID_EMAIL', email);
    }
  });

  it('passes an http(s) next_link exactly as given and refuses any other kind with M_INVALID_PARAM', async () => {
    const link = 'https://example.org/welcome?x=1&y=%20#done';
    assert.equal((await app.call(`/api/v1${EMAIL}`, { json: { ...emailBody, next_link: link } })).status, 200);
    assert.equal(app.session.callsOf('requestToken')[0]?.request.nextLink, link);
    for (const nextLink of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      '/relative',
      'https://a.example/\r\nSet-Cookie: x',
      7,
    ]) {
      const res = await app.call(`/api/v1${EMAIL}`, { json: { ...emailBody, next_link: nextLink } });
      assert.equal(res.status, 400, String(nextLink));
      assert.equal(res.body?.errcode, 'M_INVALID_PARAM', String(nextLink));
    }
  });

  it('passes a brand that could be a folder name, and the default brand for anything else', async () => {
    await app.call(`/api/v1${EMAIL}?brand=vector-im`, { json: emailBody });
    await app.call(`/api/v1${EMAIL}?brand=${encodeURIComponent('../../etc')}`, { json: emailBody });
    assert.deepEqual(
      app.session.callsOf('requestToken').map((call) => call.request.brand),
      ['vector-im', ''],
    );
  });

  it('passes the session service’s errors through with their errcodes', async () => {
    app.session.script.requestToken = async () => {
      throw asReceived(new TesseraError('M_EMAIL_SEND_ERROR', 'the mail server refused the message'));
    };
    const refused = await app.call(`/api/v1${EMAIL}`, { json: emailBody });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, { errcode: 'M_EMAIL_SEND_ERROR', error: 'the mail server refused the message' });
    app.session.script.requestToken = async () => {
      throw unavailable();
    };
    const down = await app.call(`/api/v1${EMAIL}`, { json: emailBody });
    assert.equal(down.status, 503);
    assert.equal(down.body?.errcode, 'M_UNKNOWN');
  });
});

describe('POST validate/msisdn/requestToken', () => {
  it("answers the sid with Sydent's success, msisdn and intl_fmt on both trees, and hands over the E.164 number and country", async () => {
    for (const res of await Promise.all(onBoth(MSISDN, { ...phoneBody, country: 'gb' }))) {
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { sid: 'sid-1', success: true, msisdn: '447400123456', intl_fmt: '+44 7400 123456' });
    }
    for (const { request } of app.session.callsOf('requestToken')) {
      assert.equal(request.medium, Medium.MEDIUM_MSISDN);
      assert.equal(request.address, '447400123456');
      assert.equal(request.country, 'GB');
      assert.equal(request.clientLowercaseAddress, '');
    }
  });

  it('refuses a number that is not a valid phone number with M_INVALID_ADDRESS', async () => {
    for (const bad of [
      { phone_number: '07700 900001' }, // reserved for drama
      { phone_number: '12' },
      { country: 'UK' },
      { country: 'XX' },
    ]) {
      const res = await app.call(`/api/v1${MSISDN}`, { json: { ...phoneBody, ...bad } });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body?.errcode, 'M_INVALID_ADDRESS', JSON.stringify(bad));
    }
  });

  it('names a missing country or phone_number with M_MISSING_PARAMS', async () => {
    for (const field of ['country', 'phone_number'] as const) {
      const { [field]: _dropped, ...rest } = phoneBody;
      const res = await app.call(`/v2${MSISDN}`, { json: rest, token: ALICE_TOKEN });
      assert.equal(res.body?.errcode, 'M_MISSING_PARAMS');
      assert.match(String(res.body?.error), new RegExp(field));
    }
  });

  it('passes M_SEND_ERROR from the session service through', async () => {
    app.session.script.requestToken = async () => {
      throw asReceived(new TesseraError('M_SEND_ERROR', 'the SMS provider refused the message'));
    };
    const res = await app.call(`/api/v1${MSISDN}`, { json: phoneBody });
    assert.equal(res.status, 400);
    assert.equal(res.body?.errcode, 'M_SEND_ERROR');
  });
});

describe('requestToken rate limits', () => {
  it('counts v1 callers by client IP and v2 callers by user, before the session service is called', async () => {
    await app.call(`/api/v1${EMAIL}`, { json: emailBody });
    await app.call(`/v2${EMAIL}`, { json: emailBody, token: ALICE_TOKEN });
    assert.deepEqual(app.limits.consumed, [
      { scope: 'ip', subject: '127.0.0.1' },
      { scope: 'user', subject: '@alice:example.org' },
    ]);
  });

  it('counts an SMS also by phone number and country, and answers 429 M_LIMIT_EXCEEDED with retry_after_ms over the limit', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await app.call(`/api/v1${MSISDN}`, { json: phoneBody })).status, 200);
    assert.deepEqual(app.limits.consumed.slice(0, 3), [
      { scope: 'ip', subject: '127.0.0.1' },
      { scope: 'msisdn', subject: '447400123456' },
      { scope: 'country', subject: 'GB' },
    ]);
    const refused = await app.call(`/api/v1${MSISDN}`, { json: { ...phoneBody, phone_number: '+44 7400 123456' } });
    assert.equal(refused.status, 429);
    assert.equal(refused.body?.errcode, 'M_LIMIT_EXCEEDED');
    assert.equal(refused.body?.retry_after_ms, 42_500);
    assert.equal(refused.headers.get('retry-after'), '43');
    assert.equal(app.session.callsOf('requestToken').length, 2);
    const otherNumber = await app.call(`/api/v1${MSISDN}`, { json: { ...phoneBody, phone_number: '07400 123457' } });
    assert.equal(otherNumber.status, 200);
  });
});

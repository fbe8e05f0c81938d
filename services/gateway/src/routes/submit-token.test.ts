import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { createTemplates } from '@tessera/templates';
import {
  ALICE_TOKEN,
  asReceived,
  type SessionApp,
  startSessionApp,
  twoBrandTemplates,
  unavailable,
} from '../../test-support/session-fixture.js';

let app: SessionApp;
before(async () => {
  app = await startSessionApp();
});
after(() => app.close());
beforeEach(() => app.session.reset());

const submission = { sid: 'sid-1', client_secret: 'monkeys_are_GREAT', token: 'a1b2c3' };
const query = new URLSearchParams(submission).toString();
const TREES = ['/v2', '/api/v1'];
const MEDIA = ['email', 'msisdn'];

describe('POST validate/*/submitToken', () => {
  it('answers {success} on both trees for both media and passes the three fields unchanged', async () => {
    for (const medium of MEDIA) {
      const v2 = await app.call(`/v2/validate/${medium}/submitToken`, { json: submission, token: ALICE_TOKEN });
      const v1 = await app.call(`/api/v1/validate/${medium}/submitToken`, { form: query });
      for (const res of [v2, v1]) {
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, { success: true });
      }
    }
    for (const { request } of app.session.callsOf('submitToken'))
      assert.deepEqual(request, { sid: 'sid-1', clientSecret: 'monkeys_are_GREAT', token: 'a1b2c3' });
  });

  it('refuses a missing token with M_MISSING_PARAMS and a malformed sid with M_INVALID_PARAM', async () => {
    const missing = await app.call('/api/v1/validate/email/submitToken', { json: { ...submission, token: undefined } });
    assert.equal(missing.body?.errcode, 'M_MISSING_PARAMS');
    assert.match(String(missing.body?.error), /token/);
    const badSid = await app.call('/api/v1/validate/email/submitToken', { json: { ...submission, sid: 'no/slash' } });
    assert.equal(badSid.status, 400);
    assert.equal(badSid.body?.errcode, 'M_INVALID_PARAM');
    assert.equal(app.session.callsOf('submitToken').length, 0);
  });

  it('passes M_TOKEN_INCORRECT and M_SESSION_EXPIRED through as JSON', async () => {
    for (const errcode of ['M_TOKEN_INCORRECT', 'M_SESSION_EXPIRED'] as const) {
      app.session.script.submitToken = async () => {
        throw asReceived(new TesseraError(errcode, 'no'));
      };
      const res = await app.call('/v2/validate/email/submitToken', { json: submission, token: ALICE_TOKEN });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { errcode, error: 'no' });
    }
  });
});

describe('GET validate/*/submitToken (the link in the message)', () => {
  it('redirects to the next_link given at requestToken, without any token, on both trees', async () => {
    const link = 'https://example.org/welcome?sid=sid-1&x=%2F';
    app.session.script.submitToken = async () => ({ success: true, nextLink: link });
    for (const tree of TREES) {
      for (const medium of MEDIA) {
        const res = await app.call(`${tree}/validate/${medium}/submitToken?${query}`);
        assert.equal(res.status, 302, `${tree} ${medium}`);
        assert.equal(res.headers.get('location'), link);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      }
    }
    assert.equal(app.session.callsOf('authenticate').length, 0);
  });

  it('percent-encodes a next_link that a Location header could not carry as it is', async () => {
    app.session.script.submitToken = async () => ({ success: true, nextLink: 'https://example.org/ページ?q=ü' });
    const res = await app.call(`/v2/validate/email/submitToken?${query}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://example.org/%E3%83%9A%E3%83%BC%E3%82%B8?q=%C3%BC');
  });

  it('shows the brand’s page with a success message when there is no next_link', async () => {
    for (const tree of TREES) {
      const res = await app.call(`${tree}/validate/email/submitToken?${query}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.text, /<html/);
      assert.match(res.text, /Verification successful/);
    }
  });

  it('shows a 4xx HTML page on failure, the message escaped, never JSON', async () => {
    app.session.script.submitToken = async () => {
      throw asReceived(new TesseraError('M_TOKEN_INCORRECT', '<script>alert("x")</script>'));
    };
    const res = await app.call(`/v2/validate/email/submitToken?${query}`);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.text, /not correct/);
    assert.ok(!res.text.includes('<script>alert'), 'the message is not escaped');
    assert.match(res.text, /&lt;script&gt;/);
  });

  it('gives each failure its errcode’s status on the page: unknown session, bad link, service down', async () => {
    app.session.script.submitToken = async () => {
      throw asReceived(new TesseraError('M_NO_VALID_SESSION', 'no session matches'));
    };
    const unknown = await app.call(`/api/v1/validate/msisdn/submitToken?${query}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /text message/);
    const incomplete = await app.call('/api/v1/validate/email/submitToken?sid=sid-1');
    assert.equal(incomplete.status, 400);
    assert.match(incomplete.text, /incomplete/);
    app.session.script.submitToken = async () => {
      throw unavailable();
    };
    const down = await app.call(`/api/v1/validate/email/submitToken?${query}`);
    assert.equal(down.status, 503);
    assert.match(down.text, /try again later/);
    for (const res of [unknown, incomplete, down]) assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  });

  it('still answers HTML, from a built-in page, when the brand’s template fails to render', async () => {
    const broken = await startSessionApp({
      pages: {
        renderVerifyResponse: () => {
          throw new Error('template broke');
        },
      },
    });
    try {
      const res = await broken.call(`/v2/validate/email/submitToken?${query}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(res.text, /<p>Verification successful!/);
    } finally {
      await broken.close();
    }
  });

  it('selects the brand by the brand query parameter, the default brand for an unknown one', async () => {
    const brands = await twoBrandTemplates();
    const branded = await startSessionApp({ pages: createTemplates({ dir: brands.dir, defaultBrand: 'alpha' }) });
    try {
      assert.match((await branded.call(`/v2/validate/email/submitToken?${query}&brand=beta`)).text, /^<p>beta: /);
      assert.match((await branded.call(`/v2/validate/email/submitToken?${query}&brand=gamma`)).text, /^<p>alpha: /);
      assert.match((await branded.call(`/v2/validate/email/submitToken?${query}`)).text, /^<p>alpha: /);
    } finally {
      await branded.close();
      await brands.remove();
    }
  });
});

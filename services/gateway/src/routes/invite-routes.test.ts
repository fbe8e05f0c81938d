import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import {
  EPHEMERAL_KEY,
  INVITE_TOKEN,
  type InviteApp,
  signedJson,
  startInviteApp,
} from '../../test-support/invite-fixture.js';
import { ALICE_TOKEN, asReceived, BOB_TOKEN } from '../../test-support/session-fixture.js';

let app: InviteApp;
before(async () => {
  app = await startInviteApp();
});
after(() => app.close());
beforeEach(() => app.reset());

const TREES = ['/api/v1', '/v2'] as const;

describe('GET pubkey/ephemeral/isvalid', () => {
  it("answers the service's verdict on both trees, asking it with the key as sent", async () => {
    for (const tree of TREES) {
      const valid = await app.call(`${tree}/pubkey/ephemeral/isvalid?public_key=${EPHEMERAL_KEY}`);
      assert.deepEqual([valid.status, valid.body], [200, { valid: true }]);
      const unknown = await app.call(`${tree}/pubkey/ephemeral/isvalid?public_key=${encodeURIComponent('a+b/c==')}`);
      assert.deepEqual([unknown.status, unknown.body], [200, { valid: false }]);
    }
    assert.deepEqual(
      app.invite.requestsOf('ephemeralKeyIsValid').map(({ publicKey }) => publicKey),
      [EPHEMERAL_KEY, 'a+b/c==', EPHEMERAL_KEY, 'a+b/c=='],
    );
  });

  it('refuses a missing public_key with 400 M_MISSING_PARAMS, a repeated one with M_INVALID_PARAM, without a call', async () => {
    for (const tree of TREES) {
      for (const query of ['', '?public_key=']) {
        const res = await app.call(`${tree}/pubkey/ephemeral/isvalid${query}`);
        assert.deepEqual([res.status, res.body?.errcode], [400, 'M_MISSING_PARAMS']);
      }
      const twice = await app.call(`${tree}/pubkey/ephemeral/isvalid?public_key=a&public_key=b`);
      assert.deepEqual([twice.status, twice.body?.errcode], [400, 'M_INVALID_PARAM']);
    }
    assert.deepEqual(app.invite.requestsOf('ephemeralKeyIsValid'), []);
  });
});

describe('POST sign-ed25519', () => {
  const bob = '@bob:example.org';
  const signing = { mxid: bob, token: INVITE_TOKEN, private_key: 'c2VlZA' };

  it("answers the service's signed JSON byte for byte, as JSON, on both trees (v2 with a token)", async () => {
    for (const res of [
      await app.call('/api/v1/sign-ed25519', { json: signing }),
      await app.call('/v2/sign-ed25519', { json: signing, token: ALICE_TOKEN }),
    ]) {
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.text, signedJson(bob));
    }
    const expected = { mxid: bob, token: INVITE_TOKEN, privateKey: 'c2VlZA' };
    assert.deepEqual(app.invite.requestsOf('signEd25519'), [expected, expected]);
  });

  it('takes a form body on v1', async () => {
    const res = await app.call('/api/v1/sign-ed25519', { form: new URLSearchParams(signing).toString() });
    assert.equal(res.status, 200, res.text);
    assert.equal(app.invite.requestsOf('signEd25519')[0]?.mxid, bob);
  });

  it('takes the token and key from the query string on v1, as Element posts to the mailed sign URL', async () => {
    const query = `token=${INVITE_TOKEN}&private_key=${encodeURIComponent('c2VlZA_-')}`;
    const res = await app.call(`/api/v1/sign-ed25519?${query}`, { json: { mxid: bob } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(app.invite.requestsOf('signEd25519'), [
      { mxid: bob, token: INVITE_TOKEN, privateKey: 'c2VlZA_-' },
    ]);
  });

  it("hands on a key whose '+' arrived as a space (a standard-base64 seed in a link decoded once) with its '+' back", async () => {
    const seed = 'ab+c/d+ef';
    // Unescaped in the query string and in a form body, a '+' is read as a space; in JSON as sent.
    await app.call(`/api/v1/sign-ed25519?token=${INVITE_TOKEN}&private_key=${seed}`, { json: { mxid: bob } });
    await app.call('/api/v1/sign-ed25519', {
      form: `mxid=${encodeURIComponent(bob)}&token=${INVITE_TOKEN}&private_key=${seed}`,
    });
    await app.call('/api/v1/sign-ed25519', { json: { ...signing, private_key: 'ab c/d ef' } });
    await app.call('/v2/sign-ed25519', { json: { ...signing, private_key: 'ab c/d ef' }, token: ALICE_TOKEN });
    assert.deepEqual(
      app.invite.requestsOf('signEd25519').map(({ privateKey }) => privateKey),
      [seed, seed, seed, seed],
    );
  });

  it('needs a token and accepted terms on v2', async () => {
    const none = await app.call('/v2/sign-ed25519', { json: signing });
    assert.deepEqual([none.status, none.body?.errcode], [401, 'M_UNAUTHORIZED']);
    const unsigned = await app.call('/v2/sign-ed25519', { json: signing, token: BOB_TOKEN });
    assert.deepEqual([unsigned.status, unsigned.body?.errcode], [403, 'M_TERMS_NOT_SIGNED']);
    assert.deepEqual(app.invite.requestsOf('signEd25519'), []);
  });

  it('refuses a missing mxid, token or private_key, and an mxid that is not a user ID, before calling the service', async () => {
    for (const [body, errcode] of [
      [{ token: INVITE_TOKEN, private_key: 'c2VlZA' }, 'M_MISSING_PARAMS'],
      [{ mxid: bob, private_key: 'c2VlZA' }, 'M_MISSING_PARAMS'],
      [{ mxid: bob, token: INVITE_TOKEN }, 'M_MISSING_PARAMS'],
      [{ ...signing, private_key: null }, 'M_MISSING_PARAMS'],
      [{ ...signing, mxid: 'bob' }, 'M_INVALID_PARAM'],
      [{ ...signing, token: 42 }, 'M_INVALID_PARAM'],
    ] as const) {
      for (const res of [
        await app.call('/api/v1/sign-ed25519', { json: body }),
        await app.call('/v2/sign-ed25519', { json: body, token: ALICE_TOKEN }),
      ])
        assert.deepEqual([res.status, res.body?.errcode], [400, errcode], JSON.stringify(body));
    }
    assert.deepEqual(app.invite.requestsOf('signEd25519'), []);
  });

  it("passes the service's 404 M_UNRECOGNIZED for an unknown token through", async () => {
    app.invite.script.signEd25519 = async () => {
      throw asReceived(new TesseraError('M_UNRECOGNIZED', "didn't recognize token"));
    };
    for (const res of [
      await app.call('/api/v1/sign-ed25519', { json: signing }),
      await app.call('/v2/sign-ed25519', { json: signing, token: ALICE_TOKEN }),
    ])
      assert.deepEqual([res.status, res.body], [404, { errcode: 'M_UNRECOGNIZED', error: "didn't recognize token" }]);
  });
});

describe('the invite routes, as every route', () => {
  const posts = ['store-invite', 'sign-ed25519'];

  it('answer a preflight and carry the CORS headers', async () => {
    for (const tree of TREES) {
      for (const path of [...posts, 'pubkey/ephemeral/isvalid']) {
        const preflight = await app.call(`${tree}/${path}`, { method: 'OPTIONS' });
        assert.deepEqual([preflight.status, preflight.body], [200, {}], `${tree}/${path}`);
        assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
      }
      const answered = await app.call(`${tree}/pubkey/ephemeral/isvalid?public_key=x`);
      assert.equal(answered.headers.get('access-control-allow-origin'), '*');
    }
  });

  it('answer another method with 405 M_UNRECOGNIZED', async () => {
    for (const tree of TREES) {
      for (const path of posts) {
        const res = await app.call(`${tree}/${path}`);
        assert.deepEqual([res.status, res.body?.errcode], [405, 'M_UNRECOGNIZED'], `${tree}/${path}`);
      }
      const post = await app.call(`${tree}/pubkey/ephemeral/isvalid`, { json: {} });
      assert.deepEqual([post.status, post.body?.errcode], [405, 'M_UNRECOGNIZED']);
    }
  });

  it('refuse a body that is not a JSON object, or is over the limit, as the others do', async () => {
    for (const tree of TREES) {
      for (const path of posts) {
        const array = await app.call(`${tree}/${path}`, { json: [], token: ALICE_TOKEN });
        assert.deepEqual([array.status, array.body?.errcode], [400, 'M_BAD_JSON']);
        const huge = await app.call(`${tree}/${path}`, { json: { pad: 'x'.repeat(70 * 1024) }, token: ALICE_TOKEN });
        assert.deepEqual([huge.status, huge.body?.errcode], [413, 'M_TOO_LARGE']);
      }
    }
  });
});

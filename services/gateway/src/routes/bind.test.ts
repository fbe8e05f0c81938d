import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import { associationJson, type DirectoryApp, startDirectoryApp } from '../../test-support/directory-fixture.js';
import { ALICE_TOKEN, asReceived, BOB_TOKEN } from '../../test-support/session-fixture.js';

let app: DirectoryApp;
before(async () => {
  app = await startDirectoryApp();
});
after(() => app.close());
beforeEach(() => app.reset());

const secret = 'monkeys_are_GREAT';
const alice = '@alice:example.org';
const binding = { sid: 'sid-1', client_secret: secret, mxid: alice };

describe('POST 3pid/bind', () => {
  it("answers the directory's association JSON byte for byte, as JSON, on both trees", async () => {
    for (const res of [
      await app.call('/api/v1/3pid/bind', { json: binding }),
      await app.call('/v2/3pid/bind', { json: binding, token: ALICE_TOKEN }),
    ]) {
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.text, associationJson('alice@example.org', alice));
    }
    assert.deepEqual(app.directory.requestsOf('bind'), [
      { sid: 'sid-1', clientSecret: secret, mxid: alice },
      { sid: 'sid-1', clientSecret: secret, mxid: alice },
    ]);
  });

  it('takes a form body on v1', async () => {
    const res = await app.call('/api/v1/3pid/bind', {
      form: `sid=sid-1&client_secret=${secret}&mxid=${encodeURIComponent(alice)}`,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(app.directory.requestsOf('bind')[0]?.mxid, alice);
  });

  it('needs a token and accepted terms on v2, and refuses binding to another user with 403 M_UNAUTHORIZED', async () => {
    const none = await app.call('/v2/3pid/bind', { json: binding });
    assert.deepEqual([none.status, none.body?.errcode], [401, 'M_UNAUTHORIZED']);
    const unsigned = await app.call('/v2/3pid/bind', {
      json: { ...binding, mxid: '@bob:example.org' },
      token: BOB_TOKEN,
    });
    assert.deepEqual([unsigned.status, unsigned.body?.errcode], [403, 'M_TERMS_NOT_SIGNED']);
    const other = await app.call('/v2/3pid/bind', {
      json: { ...binding, mxid: '@mallory:example.org' },
      token: ALICE_TOKEN,
    });
    assert.deepEqual([other.status, other.body?.errcode], [403, 'M_UNAUTHORIZED']);
    assert.deepEqual(app.directory.requestsOf('bind'), []);
  });

  it('refuses a missing or malformed sid, client_secret or mxid before calling the directory', async () => {
    for (const [body, errcode] of [
      [{ client_secret: secret, mxid: alice }, 'M_MISSING_PARAMS'],
      [{ sid: 'sid-1', mxid: alice }, 'M_MISSING_PARAMS'],
      [{ sid: 'sid-1', client_secret: secret }, 'M_MISSING_PARAMS'],
      [{ ...binding, sid: 'a b' }, 'M_INVALID_PARAM'],
      [{ ...binding, client_secret: 'sécret' }, 'M_INVALID_PARAM'],
      [{ ...binding, mxid: 'alice' }, 'M_INVALID_PARAM'],
      [{ ...binding, mxid: '@alice' }, 'M_INVALID_PARAM'],
      [{ ...binding, mxid: 42 }, 'M_INVALID_PARAM'],
    ] as const) {
      const res = await app.call('/api/v1/3pid/bind', { json: body });
      assert.deepEqual([res.status, res.body?.errcode], [400, errcode], JSON.stringify(body));
    }
    assert.deepEqual(app.directory.requestsOf('bind'), []);
  });

  it("passes the directory's refusals through with their statuses", async () => {
    for (const [errcode, status] of [
      ['M_NO_VALID_SESSION', 404],
      ['M_SESSION_NOT_VALIDATED', 400],
      ['M_SESSION_EXPIRED', 400],
    ] as const) {
      app.directory.script.bind = async () => {
        throw asReceived(new TesseraError(errcode, 'no'));
      };
      const res = await app.call('/api/v1/3pid/bind', { json: binding });
      assert.deepEqual([res.status, res.body?.errcode], [status, errcode]);
    }
  });
});

describe('POST 3pid/unbind', () => {
  const threepid = { medium: 'email', address: 'Alice@Example.ORG' };

  it('unbinds with sid and client_secret on both trees, without a token, the address normalised', async () => {
    for (const tree of ['/api/v1', '/v2']) {
      const res = await app.call(`${tree}/3pid/unbind`, {
        json: { mxid: alice, threepid, sid: 'sid-1', client_secret: secret },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {});
    }
    const expected = {
      medium: Medium.MEDIUM_EMAIL,
      address: 'alice@example.org',
      mxid: alice,
      proof: { $case: 'session', value: { sid: 'sid-1', clientSecret: secret } },
    };
    assert.deepEqual(app.directory.requestsOf('unbind'), [expected, expected]);
    assert.deepEqual(app.session.calls, [], 'no token is checked');
  });

  it("hands a homeserver's X-Matrix request over as received: method, path and query, every Authorization header, the body", async () => {
    const body = { mxid: alice, threepid: { medium: 'msisdn', address: '447400123456' } };
    const signatures = [
      'X-Matrix origin=example.org,key="ed25519:a",sig="c2ln"',
      'X-Matrix origin=example.org,key="ed25519:b",sig="b3Ro"',
    ];
    // Two Authorization lines, as sent (fetch would join them into one).
    const json = JSON.stringify(body);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${app.base}/v2/3pid/unbind?x=1`, {
        method: 'POST',
        // A flat list of lines, so the header is sent twice; Node adds no Host or length to such a list.
        headers: [
          'host',
          new URL(app.base).host,
          'authorization',
          signatures[0] ?? '',
          'authorization',
          signatures[1] ?? '',
          'content-type',
          'application/json',
          'content-length',
          String(Buffer.byteLength(json)),
        ],
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end(json);
    });
    assert.equal(status, 200);
    assert.deepEqual(app.directory.requestsOf('unbind'), [
      {
        medium: Medium.MEDIUM_MSISDN,
        address: '447400123456',
        mxid: alice,
        proof: {
          $case: 'homeserver',
          value: {
            method: 'POST',
            uri: '/_matrix/identity/v2/3pid/unbind?x=1',
            authorization: signatures,
            contentJson: JSON.stringify(body),
          },
        },
      },
    ]);
  });

  it('answers 403 M_FORBIDDEN without a session proof or an X-Matrix signature', async () => {
    for (const [extra, token] of [
      [{}, undefined],
      [{ sid: 'sid-1' }, undefined],
      [{ client_secret: secret }, undefined],
      [{}, ALICE_TOKEN], // a Bearer token proves nothing here
    ] as const) {
      const res = await app.call('/v2/3pid/unbind', { json: { mxid: alice, threepid, ...extra }, token });
      assert.deepEqual([res.status, res.body?.errcode], [403, 'M_FORBIDDEN'], JSON.stringify(extra));
    }
    assert.deepEqual(app.directory.requestsOf('unbind'), []);
  });

  it('refuses a missing or malformed mxid or threepid before calling the directory', async () => {
    const proof = { sid: 'sid-1', client_secret: secret };
    for (const [body, status, errcode] of [
      [{ threepid, ...proof }, 400, 'M_MISSING_PARAMS'],
      [{ mxid: alice, ...proof }, 400, 'M_MISSING_PARAMS'],
      [{ mxid: alice, threepid: 'alice@example.org', ...proof }, 400, 'M_INVALID_PARAM'],
      [{ mxid: alice, threepid: [threepid], ...proof }, 400, 'M_INVALID_PARAM'],
      [{ mxid: alice, threepid: { medium: 'email' }, ...proof }, 400, 'M_MISSING_PARAMS'],
      [{ mxid: alice, threepid: { medium: 'email', address: 7 }, ...proof }, 400, 'M_INVALID_PARAM'],
      [{ mxid: alice, threepid: { medium: 'carrier-pigeon', address: 'x' }, ...proof }, 400, 'M_UNRECOGNIZED'],
      [{ mxid: alice, threepid: { medium: 'email', address: 'not an email' }, ...proof }, 400, 'M_INVALID_EMAIL'],
      [{ mxid: alice, threepid: { medium: 'msisdn', address: '+44 7400' }, ...proof }, 400, 'M_INVALID_ADDRESS'],
      [{ mxid: 'alice@example.org', threepid, ...proof }, 400, 'M_INVALID_PARAM'],
      [{ mxid: alice, threepid, sid: 'sid-1', client_secret: 'a b' }, 400, 'M_INVALID_PARAM'],
    ] as const) {
      const res = await app.call('/api/v1/3pid/unbind', { json: body });
      assert.deepEqual([res.status, res.body?.errcode], [status, errcode], JSON.stringify(body));
    }
    const missing = await app.call('/api/v1/3pid/unbind', {
      json: { mxid: alice, threepid: { medium: 'email' }, ...proof },
    });
    assert.match(String(missing.body?.error), /threepid\.address/);
    assert.deepEqual(app.directory.requestsOf('unbind'), []);
  });

  it("passes the directory's refusal through", async () => {
    app.directory.script.unbind = async () => {
      throw asReceived(new TesseraError('M_FORBIDDEN', 'Origin server name does not match mxid'));
    };
    const res = await app.call('/api/v1/3pid/unbind', {
      json: { mxid: alice, threepid },
      headers: { authorization: 'X-Matrix origin=evil.example,key="ed25519:a",sig="c2ln"' },
    });
    assert.deepEqual([res.status, res.body?.errcode], [403, 'M_FORBIDDEN']);
  });
});

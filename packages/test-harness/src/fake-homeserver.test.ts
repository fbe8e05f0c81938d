import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { type FakeHomeserver, startFakeHomeserver } from './fake-homeserver.js';

type Answer = { status: number; body: unknown };

/** An HTTPS request to the fake, trusting only its CA (and checking its name, 127.0.0.1). */
function call(hs: FakeHomeserver, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${hs.url}${path}`,
      {
        method,
        ca: hs.caPem,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const USERINFO = '/_matrix/federation/v1/openid/userinfo';
const ONBIND = '/_matrix/federation/v1/3pid/onbind';

describe('startFakeHomeserver', () => {
  let hs: FakeHomeserver;
  before(async () => {
    hs = await startFakeHomeserver();
  });
  after(() => hs.close());

  it('answers OpenID userinfo over HTTPS trusted through its CA for a registered token', async () => {
    hs.addOpenIdToken('tok-1', '@alice:localhost');
    assert.deepEqual(await call(hs, 'GET', `${USERINFO}?access_token=tok-1`), {
      status: 200,
      body: { sub: '@alice:localhost' },
    });
  });

  it('answers 401 M_UNKNOWN_TOKEN for a token it does not know', async () => {
    const answer = await call(hs, 'GET', `${USERINFO}?access_token=nope`);
    assert.equal(answer.status, 401);
    assert.equal((answer.body as { errcode: string }).errcode, 'M_UNKNOWN_TOKEN');
  });

  it('serves its ed25519 verify key, which checks signatures made with its private key', async () => {
    const { status, body } = await call(hs, 'GET', '/_matrix/key/v2/server');
    assert.equal(status, 200);
    const keys = body as {
      server_name: string;
      verify_keys: Record<string, { key: string }>;
      old_verify_keys: object;
      valid_until_ts: number;
    };
    assert.equal(keys.server_name, `localhost:${hs.port}`);
    assert.equal(hs.serverName, keys.server_name);
    assert.deepEqual(keys.old_verify_keys, {});
    assert.ok(keys.valid_until_ts > Date.now());
    const key = keys.verify_keys['ed25519:a']?.key ?? '';
    assert.doesNotMatch(key, /=/, 'unpadded base64');
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key, 'base64').toString('base64url') },
      format: 'jwk',
    });
    const signature = sign(null, Buffer.from('hello'), hs.verifyKey.privateKey);
    assert.ok(verify(null, Buffer.from('hello'), publicKey, signature));
  });

  it('signs its key response with the key it lists, and answers as setKeyServer says', async () => {
    const publicKey = decodeBase64(hs.verifyKey.publicKeyBase64);
    const keysOf = async () => (await call(hs, 'GET', '/_matrix/key/v2/server')).body;
    const selfSigned = (body: unknown) =>
      verifyJsonSignature(body, { entity: hs.serverName, keyId: 'ed25519:a', publicKey });
    assert.ok(selfSigned(await keysOf()));
    hs.setKeyServer({ selfSignature: 'forged' });
    assert.equal(selfSigned(await keysOf()), false);
    hs.setKeyServer({ validUntilTs: 5, oldVerifyKeys: { 'ed25519:old': { key: 'AAAA', expired_ts: 4 } } });
    const expired = (await keysOf()) as { valid_until_ts: number; old_verify_keys: object };
    assert.ok(selfSigned(expired));
    assert.equal(expired.valid_until_ts, 5);
    assert.deepEqual(expired.old_verify_keys, { 'ed25519:old': { key: 'AAAA', expired_ts: 4 } });
    hs.setKeyServer({ status: 503 });
    assert.equal((await call(hs, 'GET', '/_matrix/key/v2/server')).status, 503);
    hs.setKeyServer({});
    assert.ok(selfSigned(await keysOf()));
  });

  it("signs requests as Synapse signs its unbind: destination_is in the JSON, Synapse's header", () => {
    const content = { mxid: '@a:x', threepid: { medium: 'email', address: 'a@x.org' } };
    const request = { method: 'POST', uri: '/_matrix/identity/v2/3pid/unbind', destinationIs: 'id.example', content };
    const [header, ...more] = hs.signRequest(request);
    assert.equal(more.length, 0);
    const match = /^X-Matrix origin="([^"]+)",key="(ed25519:a)",sig="([^"]+)",destination="id\.example"$/.exec(
      header ?? '',
    );
    assert.ok(match, header);
    assert.equal(match[1], hs.serverName);
    const signed = {
      method: 'POST',
      uri: request.uri,
      origin: hs.serverName,
      destination_is: 'id.example',
      content,
      signatures: { [hs.serverName]: { 'ed25519:a': match[3] } },
    };
    const publicKey = decodeBase64(hs.verifyKey.publicKeyBase64);
    assert.ok(verifyJsonSignature(signed, { entity: hs.serverName, keyId: 'ed25519:a', publicKey }));
  });

  it('POSTs signed requests with one Authorization header per signature', async () => {
    const content = { hello: 'world' };
    const answer = await hs.postSigned({
      url: `${hs.url}/_matrix/signed-test`,
      ca: hs.caPem,
      destinationIs: 'id.example',
      content,
      authorization: ['X-Matrix one', 'X-Matrix two'],
    });
    assert.equal(answer.status, 404);
    const recorded = await hs.waitForRequest((r) => r.path === '/_matrix/signed-test');
    assert.deepEqual(recorded.body, content);
    assert.deepEqual(recorded.authorization, ['X-Matrix one', 'X-Matrix two']);
  });

  it('records onbind calls made with POST and with PUT and answers 200 {}', async () => {
    assert.deepEqual(await call(hs, 'POST', ONBIND, { address: 'a@x.org', mxid: '@a:x' }), { status: 200, body: {} });
    assert.deepEqual(await call(hs, 'PUT', ONBIND, { address: 'b@x.org' }), { status: 200, body: {} });
    assert.deepEqual(hs.onbindCalls, [
      { method: 'POST', body: { address: 'a@x.org', mxid: '@a:x' }, status: 200 },
      { method: 'PUT', body: { address: 'b@x.org' }, status: 200 },
    ]);
  });

  it('answers the given status the given number of times after failOnbind, then 200', async () => {
    hs.failOnbind(503, 2);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(hs, 'POST', ONBIND, { attempt: i })).status);
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.equal((await hs.waitForOnbind((c) => (c.body as { attempt?: number }).attempt === 2)).status, 200);
  });

  it('holds the next onbind calls open after holdOnbind, recorded with status 0, and answers the next', async () => {
    hs.holdOnbind(1);
    let settled = false;
    const held = call(hs, 'POST', ONBIND, { held: true }).finally(() => {
      settled = true;
    });
    held.catch(() => {}); // rejected when the fake closes its connections at the end
    assert.equal((await hs.waitForOnbind((c) => (c.body as { held?: boolean }).held === true)).status, 0);
    assert.deepEqual(await call(hs, 'POST', ONBIND, { after: true }), { status: 200, body: {} });
    assert.equal(settled, false, 'the held call is still unanswered after a later one was answered');
  });

  it('answers .well-known/matrix/server with what setWellKnown set, 404 when null', async () => {
    assert.equal((await call(hs, 'GET', '/.well-known/matrix/server')).status, 404);
    hs.setWellKnown({ 'm.server': 'matrix.example.org:443' });
    assert.deepEqual(await call(hs, 'GET', '/.well-known/matrix/server'), {
      status: 200,
      body: { 'm.server': 'matrix.example.org:443' },
    });
    hs.setWellKnown(null);
    assert.equal((await call(hs, 'GET', '/.well-known/matrix/server')).status, 404);
  });

  it('records every request with method, path, query, headers and body, unknown routes answered 404', async () => {
    const answer = await call(hs, 'PUT', '/_matrix/unknown?x=1', { hello: 'world' });
    assert.deepEqual(answer, { status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } });
    const recorded = await hs.waitForRequest((r) => r.path === '/_matrix/unknown');
    assert.equal(recorded.method, 'PUT');
    assert.equal(recorded.query.get('x'), '1');
    assert.equal(recorded.headers['content-type'], 'application/json');
    assert.deepEqual(recorded.body, { hello: 'world' });
  });
});

describe('startFakeHomeserver options', () => {
  let hs: FakeHomeserver;
  before(async () => {
    hs = await startFakeHomeserver({ serverName: 'hs.test', onbindFailures: { status: 500, times: 1 } });
  });
  after(() => hs.close());

  it('uses the given serverName and fails the first onbind calls as told', async () => {
    const keys = (await call(hs, 'GET', '/_matrix/key/v2/server')).body as { server_name: string };
    assert.equal(keys.server_name, 'hs.test');
    assert.equal((await call(hs, 'POST', ONBIND, {})).status, 500);
    assert.equal((await call(hs, 'POST', ONBIND, {})).status, 200);
  });
});

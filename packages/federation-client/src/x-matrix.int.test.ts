import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { matrixErrorOf } from '@tessera/errors';
import { type FakeHomeserver, type SignedPost, startFakeHomeserver } from '@tessera/test-harness';
import { createFederationClient } from './federation-client.js';
import { createKeyring } from './keyring.js';
import { createXMatrixVerifier, type XMatrixVerifier } from './x-matrix.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

const OUR_NAME = 'id.example'; // TESSERA_SERVER_NAME
const UNBIND = '/_matrix/identity/v2/3pid/unbind';
const KEYS = '/_matrix/key/v2/server';
const unbindBody = (mxid: string) => ({ mxid, threepid: { medium: 'email', address: 'alice@example.org' } });

type Answer = { status: number; body: { origin?: string; errcode?: string; reason?: string } };

/**
 * An identity server endpoint on loopback that verifies what it receives as the directory will:
 * the raw request target, every Authorization header, the parsed body. Answers {origin}, or the
 * Matrix error with the refusal's reason beside it (for these tests).
 */
async function startIdentityEndpoint(verifier: () => XMatrixVerifier): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void readJson(req)
      .then((content) =>
        verifier().verifyXMatrix({
          method: req.method ?? '',
          uri: req.url ?? '',
          authorization: req.headersDistinct.authorization,
          content,
        }),
      )
      .then(
        (origin) => ({ status: 200, body: { origin } }),
        (err: unknown) => {
          if (!(err instanceof XMatrixRefusal)) return { status: 500, body: { error: String(err) } };
          const { status, body } = matrixErrorOf(err);
          return { status, body: { ...body, reason: err.reason } };
        },
      )
      .then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${UNBIND}`, server };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

describe('verifyXMatrix against fake homeservers over HTTPS on loopback', () => {
  const homeservers: FakeHomeserver[] = [];
  let hs: FakeHomeserver;
  let endpoint: { url: string; server: Server };
  let verifier: XMatrixVerifier;

  /** A verifier with an empty key cache, trusting the CAs of every fake started so far. */
  const freshVerifier = (allowCidrs = ['127.0.0.0/8']) => {
    const client = createFederationClient({
      allowCidrs,
      verifyTls: true,
      ca: homeservers.map((h) => h.caPem).join('\n'),
      timeoutMs: 5_000,
    });
    return createXMatrixVerifier({
      serverName: OUR_NAME,
      keyring: createKeyring({ fetchServerKeys: client.getServerKeys, now: Date.now }),
    });
  };
  const startHomeserver = async () => {
    const started = await startFakeHomeserver();
    homeservers.push(started);
    return started;
  };
  const post = (from: FakeHomeserver, overrides: Partial<SignedPost> = {}): Promise<Answer> =>
    from.postSigned({
      url: endpoint.url,
      destinationIs: OUR_NAME,
      content: unbindBody(`@alice:${from.serverName}`),
      ...overrides,
    }) as Promise<Answer>;
  const keyFetches = (from: FakeHomeserver) => from.requests.filter((r) => r.path === KEYS).length;
  const refusedWith = (answer: Answer, status: number, errcode: string, reason: string) =>
    assert.deepEqual([answer.status, answer.body.errcode, answer.body.reason], [status, errcode, reason]);

  before(async () => {
    hs = await startHomeserver();
    verifier = freshVerifier();
    endpoint = await startIdentityEndpoint(() => verifier);
  });
  after(async () => {
    await new Promise((resolve) => endpoint.server.close(resolve));
    await Promise.all(homeservers.map((h) => h.close()));
  });

  it('accepts an unbind signed as Synapse signs it, answering the origin, and caches the keys', async () => {
    const first = await post(hs);
    assert.deepEqual(first, { status: 200, body: { origin: hs.serverName } });
    assert.equal(keyFetches(hs), 1);
    const second = await post(hs, { content: unbindBody(`@bob:${hs.serverName}`) });
    assert.deepEqual(second, { status: 200, body: { origin: hs.serverName } });
    assert.equal(keyFetches(hs), 1, 'the second request used the cached keys');
    assert.equal(hs.requests.find((r) => r.path === KEYS)?.headers.host, hs.serverName);
  });

  it('accepts the header forms of older Synapse: origin unquoted, no destination parameter', async () => {
    const [current = ''] = hs.signRequest({
      method: 'POST',
      uri: UNBIND,
      destinationIs: OUR_NAME,
      content: unbindBody('@carol:x'),
    });
    const old = current.replace(/origin="([^"]*)"/, 'origin=$1').replace(/,destination="[^"]*"/, '');
    assert.match(old, /^X-Matrix origin=localhost:\d+,key="ed25519:a",sig="[^"]+"$/);
    assert.equal((await post(hs, { content: unbindBody('@carol:x'), authorization: [old] })).status, 200);
  });

  it('refuses a forged signature: 403 M_FORBIDDEN', async () => {
    const forger = generateKeyPairSync('ed25519').privateKey;
    refusedWith(await post(hs, { privateKey: forger }), 403, 'M_FORBIDDEN', 'bad-signature');
  });

  it('refuses a body other than the one signed, and a signature for another path', async () => {
    const signed = hs.signRequest({
      method: 'POST',
      uri: UNBIND,
      destinationIs: OUR_NAME,
      content: unbindBody('@a:x'),
    });
    refusedWith(
      await post(hs, { content: unbindBody('@b:x'), authorization: signed }),
      403,
      'M_FORBIDDEN',
      'bad-signature',
    );
    const elsewhere = hs.signRequest({
      method: 'POST',
      uri: '/_matrix/identity/api/v1/3pid/unbind',
      destinationIs: OUR_NAME,
      content: unbindBody('@a:x'),
    });
    refusedWith(
      await post(hs, { content: unbindBody('@a:x'), authorization: elsewhere }),
      403,
      'M_FORBIDDEN',
      'bad-signature',
    );
  });

  it('refuses a key id the origin does not publish: 403 M_FORBIDDEN', async () => {
    refusedWith(await post(hs, { keyId: 'ed25519:nope' }), 403, 'M_FORBIDDEN', 'unknown-key');
  });

  it('reads several headers as several signatures: an unknown key id is skipped, a bad signature is not', async () => {
    const content = unbindBody('@erin:x');
    const sign = (overrides: object) =>
      hs.signRequest({ method: 'POST', uri: UNBIND, destinationIs: OUR_NAME, content, ...overrides });
    const unknownKey = sign({ keyId: 'ed25519:next' });
    const forged = sign({ privateKey: generateKeyPairSync('ed25519').privateKey });
    const valid = sign({});
    assert.equal((await post(hs, { content, authorization: [...unknownKey, ...valid] })).status, 200);
    refusedWith(await post(hs, { content, authorization: [...valid, ...forged] }), 403, 'M_FORBIDDEN', 'bad-signature');
    const otherOrigin = (valid[0] ?? '').replace(/origin="[^"]*"/, 'origin="other.example"');
    refusedWith(
      await post(hs, { content, authorization: [...valid, otherOrigin] }),
      401,
      'M_UNAUTHORIZED',
      'malformed',
    );
  });

  it('refuses a request signed for another identity server: 401 with destination, 403 without', async () => {
    refusedWith(await post(hs, { destinationIs: 'other.example' }), 401, 'M_UNAUTHORIZED', 'wrong-destination');
    const [header = ''] = hs.signRequest({
      method: 'POST',
      uri: UNBIND,
      destinationIs: 'other.example',
      content: unbindBody('@a:x'),
    });
    const withoutDestination = header.replace(/,destination="[^"]*"/, '');
    const answer = await post(hs, { content: unbindBody('@a:x'), authorization: [withoutDestination] });
    refusedWith(answer, 403, 'M_FORBIDDEN', 'bad-signature');
  });

  it('refuses a request without an X-Matrix header, or with a malformed one: 401 M_UNAUTHORIZED', async () => {
    refusedWith(await post(hs, { authorization: ['Bearer abc'] }), 401, 'M_UNAUTHORIZED', 'missing');
    refusedWith(await post(hs, { authorization: ['X-Matrix origin=hs'] }), 401, 'M_UNAUTHORIZED', 'malformed');
  });

  it('refuses keys whose valid_until_ts has passed: 403 M_FORBIDDEN', async () => {
    const expired = await startHomeserver();
    expired.setKeyServer({ validUntilTs: Date.now() - 1_000 });
    verifier = freshVerifier();
    refusedWith(await post(expired), 403, 'M_FORBIDDEN', 'expired-key');
  });

  it('refuses when the key response is not signed by the key it lists: 502 M_UNKNOWN', async () => {
    const forgedKeys = await startHomeserver();
    forgedKeys.setKeyServer({ selfSignature: 'forged' });
    verifier = freshVerifier();
    refusedWith(await post(forgedKeys), 502, 'M_UNKNOWN', 'bad-key-response');
    forgedKeys.setKeyServer({ serverName: 'someone.else' });
    verifier = freshVerifier();
    refusedWith(await post(forgedKeys), 502, 'M_UNKNOWN', 'bad-key-response');
  });

  it('answers 502 M_UNKNOWN when the origin is unreachable', async () => {
    const gone = await startFakeHomeserver();
    await gone.close();
    verifier = freshVerifier();
    const authorization = gone.signRequest({ method: 'POST', uri: UNBIND, destinationIs: OUR_NAME, content: {} });
    refusedWith(await post(hs, { content: {}, authorization }), 502, 'M_UNKNOWN', 'origin-unreachable');
  });

  it('remembers a failed key fetch: a second request within the minute asks nothing', async () => {
    const failing = await startHomeserver();
    failing.setKeyServer({ status: 500 });
    verifier = freshVerifier();
    refusedWith(await post(failing), 502, 'M_UNKNOWN', 'bad-key-response');
    refusedWith(await post(failing), 502, 'M_UNKNOWN', 'bad-key-response');
    assert.equal(keyFetches(failing), 1);
  });

  it('refuses an origin on an address the outbound guard refuses, asking nothing', async () => {
    verifier = freshVerifier([]);
    const before = keyFetches(hs);
    refusedWith(await post(hs), 403, 'M_FORBIDDEN', 'origin-refused');
    assert.equal(keyFetches(hs), before);
  });

  it('coalesces concurrent verifications for one origin into one key fetch', async () => {
    const busy = await startHomeserver();
    const fresh = freshVerifier();
    const content = unbindBody(`@dave:${busy.serverName}`);
    const authorization = busy.signRequest({ method: 'POST', uri: UNBIND, destinationIs: OUR_NAME, content });
    const request = { method: 'POST', uri: UNBIND, authorization, content };
    const origins = await Promise.all(Array.from({ length: 10 }, () => fresh.verifyXMatrix(request)));
    assert.deepEqual(new Set(origins), new Set([busy.serverName]));
    assert.equal(keyFetches(busy), 1);
  });
});

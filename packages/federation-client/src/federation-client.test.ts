import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { matrixErrorOf, TesseraError } from '@tessera/errors';
import { type FakeHomeserver, startFakeHomeserver } from '@tessera/test-harness';
import { createFederationClient, type FederationClientOptions } from './federation-client.js';
import { HomeserverFailure, OutboundError } from './outbound-error.js';

const USERINFO = '/_matrix/federation/v1/openid/userinfo';

/** A TCP server that accepts connections and never says a word. */
async function startSilentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const isError = (errcode: string, status: number, message?: string) => (err: unknown) =>
  err instanceof TesseraError &&
  err.errcode === errcode &&
  matrixErrorOf(err).status === status &&
  (message === undefined || err.message === message);
const unreachable = isError('M_UNKNOWN', 502, 'homeserver unreachable');
const refused = isError('M_INVALID_PARAM', 400, 'matrix_server_name does not name a reachable public homeserver');

describe('createFederationClient: OpenID userinfo on a loopback homeserver', () => {
  let hs: FakeHomeserver;
  const client = (overrides: Partial<FederationClientOptions> = {}) =>
    createFederationClient({ allowCidrs: ['127.0.0.0/8'], verifyTls: true, ca: hs.caPem, ...overrides });
  /** The failure a HomeserverFailure reports for the caller's log. */
  const failureOf = async (call: Promise<unknown>) => {
    const err = await call.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HomeserverFailure, String(err));
    assert.ok(unreachable(err));
    return err.failure;
  };

  before(async () => {
    hs = await startFakeHomeserver();
  });
  after(() => hs.close());

  it('gives the sub of a token the homeserver knows, asking with the server name as Host', async () => {
    const token = 'tok/with+odd=chars&more?é';
    hs.addOpenIdToken(token, '@alice:localhost');
    assert.deepEqual(await client().getOpenIdUserInfo(hs.serverName, token), { sub: '@alice:localhost' });
    const request = hs.requests.at(-1);
    assert.equal(request?.path, USERINFO);
    assert.equal(request?.query.get('access_token'), token, 'the token arrives intact');
    assert.equal(request?.headers.host, hs.serverName);
  });

  it('answers 401 M_UNAUTHORIZED for a token the homeserver rejects', async () => {
    await assert.rejects(
      client().getOpenIdUserInfo(hs.serverName, 'unknown-token'),
      isError('M_UNAUTHORIZED', 401, 'the homeserver rejected the OpenID token'),
    );
  });

  it('reaches a homeserver named by an IP literal, checking its certificate against the IP', async () => {
    hs.addOpenIdToken('tok-ip', '@bob:localhost');
    const serverName = `127.0.0.1:${hs.port}`;
    assert.deepEqual(await client().getOpenIdUserInfo(serverName, 'tok-ip'), { sub: '@bob:localhost' });
    assert.equal(hs.requests.at(-1)?.headers.host, serverName);
  });

  it('refuses loopback when the allow-list is empty, sending nothing, as bad input', async () => {
    hs.addOpenIdToken('tok-guard', '@carol:localhost');
    const before = hs.requests.length;
    await assert.rejects(client({ allowCidrs: [] }).getOpenIdUserInfo(hs.serverName, 'tok-guard'), refused);
    await assert.rejects(client({ allowCidrs: [] }).getOpenIdUserInfo(`127.0.0.1:${hs.port}`, 'tok-guard'), refused);
    assert.equal(hs.requests.length, before);
  });

  it('connects to the addresses it looked up and checked, asking DNS once', async () => {
    hs.addOpenIdToken('tok-dns', '@dave:localhost');
    const looked: string[] = [];
    const lookup = async (hostname: string) => {
      looked.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    // .invalid never resolves in real DNS: reaching the fake proves the socket used our answer.
    const serverName = `homeserver.invalid:${hs.port}`;
    const fed = client({ verifyTls: false, resolver: { lookup } });
    assert.deepEqual(await fed.getOpenIdUserInfo(serverName, 'tok-dns'), { sub: '@dave:localhost' });
    assert.deepEqual(looked, ['homeserver.invalid']);
    assert.equal(hs.requests.at(-1)?.headers.host, serverName);
  });

  it('fails as unreachable when the certificate is not trusted (verifyTls true, no CA)', async () => {
    hs.addOpenIdToken('tok-tls', '@erin:localhost');
    assert.equal(await failureOf(client({ ca: undefined }).getOpenIdUserInfo(hs.serverName, 'tok-tls')), 'tls');
  });

  it('accepts an untrusted certificate when verifyTls is false', async () => {
    hs.addOpenIdToken('tok-notls', '@frank:localhost');
    const fed = client({ verifyTls: false, ca: undefined });
    assert.deepEqual(await fed.getOpenIdUserInfo(hs.serverName, 'tok-notls'), { sub: '@frank:localhost' });
  });

  it('times out within the configured timeout on a server that never answers', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      const failure = await failureOf(
        client({ timeoutMs: 300 }).getOpenIdUserInfo(`127.0.0.1:${silent.port}`, 'tok-silent'),
      );
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 1_300, `took ${Math.round(elapsed)} ms`);
      assert.equal(failure, 'timeout');
    } finally {
      await silent.close();
    }
  });

  it('answers 400 M_INVALID_PARAM for a malformed server name, sending nothing', async () => {
    const before = hs.requests.length;
    await assert.rejects(client().getOpenIdUserInfo('not a name', 'tok'), isError('M_INVALID_PARAM', 400));
    assert.equal(hs.requests.length, before);
  });

  it('never writes the access token into logs or error messages', async () => {
    const token = 'secret-openid-token-8d1f';
    const messages: string[] = [];
    const collect = (err: unknown) => {
      for (let e = err; e instanceof Error; e = e.cause) messages.push(e.message, String(e.stack));
      return true;
    };
    const silent = await startSilentServer();
    try {
      await assert.rejects(client().getOpenIdUserInfo(hs.serverName, token), collect); // rejected
      await assert.rejects(client({ allowCidrs: [] }).getOpenIdUserInfo(hs.serverName, token), collect); // guard
      await assert.rejects(client({ ca: undefined }).getOpenIdUserInfo(hs.serverName, token), collect); // TLS
      await assert.rejects(client({ timeoutMs: 200 }).getOpenIdUserInfo(`127.0.0.1:${silent.port}`, token), collect);
    } finally {
      await silent.close();
    }
    assert.equal(messages.length > 8, true, 'errors were collected');
    const written = messages.join('\n');
    assert.equal(written.includes(token), false);
    assert.equal(written.includes('access_token'), false);
  });
});

describe('createFederationClient: sendJson to a loopback homeserver', () => {
  let hs: FakeHomeserver;
  const client = (overrides: Partial<FederationClientOptions> = {}) =>
    createFederationClient({ allowCidrs: ['127.0.0.0/8'], verifyTls: true, ca: hs.caPem, ...overrides });
  const ONBIND = '/_matrix/federation/v1/3pid/onbind';

  before(async () => {
    hs = await startFakeHomeserver();
  });
  after(() => hs.close());

  it('sends the JSON body with the method asked and answers the status, a failure status included', async () => {
    const json = JSON.stringify({ mxid: '@a:localhost', invites: [] });
    assert.deepEqual(await client().sendJson(hs.serverName, { method: 'POST', path: ONBIND, json }), { status: 200 });
    hs.failOnbind(405, 1);
    assert.deepEqual(await client().sendJson(hs.serverName, { method: 'PUT', path: ONBIND, json }), { status: 405 });
    assert.deepEqual(hs.onbindCalls, [
      { method: 'POST', body: { mxid: '@a:localhost', invites: [] }, status: 200 },
      { method: 'PUT', body: { mxid: '@a:localhost', invites: [] }, status: 405 },
    ]);
    const request = hs.requests.at(-1);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.equal(request?.headers.host, hs.serverName);
  });

  it('answers a 200 whose body is over the cap with its status, the body drained and dropped', async () => {
    hs.shapeOnbindSuccess({ bodyBytes: 256 * 1024 });
    try {
      const json = JSON.stringify({ mxid: '@big:localhost', invites: [] });
      assert.deepEqual(await client().sendJson(hs.serverName, { method: 'POST', path: ONBIND, json }), { status: 200 });
      assert.equal(
        hs.onbindCalls.filter((call) => (call.body as { mxid?: string }).mxid === '@big:localhost').length,
        1,
      );
    } finally {
      hs.shapeOnbindSuccess({});
    }
  });

  it('waits for a reply past the client timeout (which bounds discovery) when the call has a longer one of its own', async () => {
    hs.shapeOnbindSuccess({ delayMs: 1_500 });
    try {
      const json = JSON.stringify({ mxid: '@slow:localhost', invites: [] });
      const slowCall = { method: 'POST', path: ONBIND, json } as const;
      const short = client({ timeoutMs: 500 });
      await assert.rejects(
        short.sendJson(hs.serverName, slowCall),
        (err: unknown) => err instanceof OutboundError && err.failure === 'timeout',
      );
      assert.deepEqual(await short.sendJson(hs.serverName, slowCall, { timeoutMs: 30_000 }), { status: 200 });
    } finally {
      hs.shapeOnbindSuccess({});
    }
  });

  it('gives a call up when its signal aborts, as aborted rather than timed out', async () => {
    hs.holdOnbind(1);
    const stopping = new AbortController();
    const call = client().sendJson(
      hs.serverName,
      { method: 'POST', path: ONBIND, json: '{}' },
      { timeoutMs: 30_000, signal: stopping.signal },
    );
    await hs.waitForOnbind((onbind) => onbind.status === 0);
    stopping.abort();
    await assert.rejects(call, (err: unknown) => err instanceof OutboundError && err.failure === 'aborted');
  });

  it('refuses loopback when the allow-list is empty, sending nothing', async () => {
    const before = hs.requests.length;
    await assert.rejects(
      client({ allowCidrs: [] }).sendJson(hs.serverName, { method: 'POST', path: ONBIND, json: '{}' }),
      (err: unknown) => err instanceof OutboundError && err.failure === 'refused',
    );
    assert.equal(hs.requests.length, before);
  });
});

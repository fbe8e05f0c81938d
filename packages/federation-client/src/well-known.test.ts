import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import type { HttpsResponse, HttpsTarget } from './guarded-request.js';
import { OutboundError } from './outbound-error.js';
import { createWellKnownFetcher, type HttpsGet } from './well-known.js';

type Reply = { status: number; headers?: IncomingHttpHeaders; body?: string };

/** A `get` that answers from a table keyed by `https://host:port/path`, and records what was asked. */
function fakeGet(replies: Record<string, Reply>) {
  const asked: Array<{ target: HttpsTarget; path: string }> = [];
  const get: HttpsGet = async (target, path) => {
    asked.push({ target, path });
    const reply = replies[`https://${target.hostHeader}${path}`] ?? { status: 404 };
    const response: HttpsResponse = {
      status: reply.status,
      headers: reply.headers ?? {},
      body: Buffer.from(reply.body ?? ''),
      from: `${target.host}:${target.port}`,
    };
    return response;
  };
  return { get, asked };
}

const signal = () => AbortSignal.timeout(5_000);
const isFailure = (failure: OutboundError['failure']) => (err: unknown) =>
  err instanceof OutboundError && err.failure === failure;

describe('fetching .well-known/matrix/server', () => {
  it('asks https://<hostname>/.well-known/matrix/server on port 443 with Host and SNI the hostname', async () => {
    const { get, asked } = fakeGet({
      'https://example.org/.well-known/matrix/server': {
        status: 200,
        headers: { 'cache-control': 'max-age=3600' },
        body: '{"m.server":"matrix.example.org:443"}',
      },
    });
    const answer = await createWellKnownFetcher(get)('example.org', signal());
    assert.deepEqual(answer, {
      status: 200,
      cacheControl: 'max-age=3600',
      body: { 'm.server': 'matrix.example.org:443' },
    });
    assert.deepEqual(asked, [
      {
        target: { host: 'example.org', port: 443, hostHeader: 'example.org', tlsServerName: 'example.org' },
        path: '/.well-known/matrix/server',
      },
    ]);
  });

  it('gives the status of a failed answer without reading its body', async () => {
    const { get } = fakeGet({ 'https://example.org/.well-known/matrix/server': { status: 404, body: '<html>' } });
    const answer = await createWellKnownFetcher(get)('example.org', signal());
    assert.deepEqual(answer, { status: 404, cacheControl: undefined, body: undefined });
  });

  it('throws a not-json failure for a 200 whose body is not JSON', async () => {
    const { get } = fakeGet({ 'https://example.org/.well-known/matrix/server': { status: 200, body: '<html>' } });
    await assert.rejects(createWellKnownFetcher(get)('example.org', signal()), isFailure('not-json'));
  });

  it('follows https redirects, each to its own host, port, Host and SNI', async () => {
    const { get, asked } = fakeGet({
      'https://example.org/.well-known/matrix/server': {
        status: 301,
        headers: { location: 'https://www.example.org:8443/wk' },
      },
      'https://www.example.org:8443/wk': { status: 302, headers: { location: '/wk2?x=1' } },
      'https://www.example.org:8443/wk2?x=1': { status: 200, body: '{"m.server":"m.example.org"}' },
    });
    const answer = await createWellKnownFetcher(get)('example.org', signal());
    assert.deepEqual(answer.body, { 'm.server': 'm.example.org' });
    assert.deepEqual(
      asked.map(({ target, path }) => [target.host, target.port, target.hostHeader, target.tlsServerName, path]),
      [
        ['example.org', 443, 'example.org', 'example.org', '/.well-known/matrix/server'],
        ['www.example.org', 8443, 'www.example.org:8443', 'www.example.org', '/wk'],
        ['www.example.org', 8443, 'www.example.org:8443', 'www.example.org', '/wk2?x=1'],
      ],
    );
  });

  it('sends no SNI when a redirect goes to an IP literal', async () => {
    const { get, asked } = fakeGet({
      'https://example.org/.well-known/matrix/server': {
        status: 307,
        headers: { location: 'https://[2001:db8::1]/wk' },
      },
    });
    await createWellKnownFetcher(get)('example.org', signal());
    assert.deepEqual(asked[1]?.target, {
      host: '2001:db8::1',
      port: 443,
      hostHeader: '[2001:db8::1]',
      tlsServerName: undefined,
    });
  });

  it('gives up after 3 redirects', async () => {
    const { get, asked } = fakeGet({
      'https://example.org/.well-known/matrix/server': { status: 302, headers: { location: '/loop' } },
      'https://example.org/loop': { status: 302, headers: { location: '/loop' } },
    });
    await assert.rejects(createWellKnownFetcher(get)('example.org', signal()), isFailure('redirect'));
    assert.equal(asked.length, 4);
  });

  it('refuses a redirect to plain http', async () => {
    const { get, asked } = fakeGet({
      'https://example.org/.well-known/matrix/server': { status: 302, headers: { location: 'http://example.org/wk' } },
    });
    await assert.rejects(createWellKnownFetcher(get)('example.org', signal()), isFailure('redirect'));
    assert.equal(asked.length, 1);
  });
});

import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { type FakeHomeserver, startFakeHomeserver } from '@tessera/test-harness';
import { type GuardedRequestOptions, guardedGet, type HttpsTarget } from './guarded-request.js';
import { OutboundError } from './outbound-error.js';
import { OutboundGuard } from './outbound-guard.js';
import { createWellKnownFetcher } from './well-known.js';

const WELL_KNOWN = '/.well-known/matrix/server';
const isFailure = (failure: OutboundError['failure']) => (err: unknown) =>
  err instanceof OutboundError && err.failure === failure;
const v4 = (address: string): LookupAddress => ({ address, family: 4 });

describe('guardedGet against a loopback HTTPS server', () => {
  let hs: FakeHomeserver;
  let target: HttpsTarget;
  let options: (overrides?: Partial<GuardedRequestOptions>) => GuardedRequestOptions;
  before(async () => {
    hs = await startFakeHomeserver();
    target = { host: 'localhost', port: hs.port, hostHeader: hs.serverName, tlsServerName: 'localhost' };
    options = (overrides = {}) => ({
      guard: new OutboundGuard(['127.0.0.0/8']),
      lookup: async () => [v4('127.0.0.1')],
      verifyTls: true,
      ca: hs.caPem,
      signal: AbortSignal.timeout(5_000),
      ...overrides,
    });
  });
  after(() => hs.close());

  it('answers the status, headers and body, sending the Host header it was given', async () => {
    hs.setWellKnown({ 'm.server': 'example.org:443' });
    const response = await guardedGet({ ...target, hostHeader: 'example.org' }, WELL_KNOWN, options());
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(response.body.toString('utf8')), { 'm.server': 'example.org:443' });
    assert.equal(response.from, `localhost:${hs.port}`);
    assert.equal(hs.requests.at(-1)?.headers.host, 'example.org');
  });

  it('refuses a reply larger than the size limit', async () => {
    hs.setWellKnown({ 'm.server': 'x'.repeat(2_000) });
    await assert.rejects(guardedGet(target, WELL_KNOWN, options({ maxBodyBytes: 1_024 })), isFailure('too-large'));
  });

  it('sends nothing when every address of the host is refused', async () => {
    const before = hs.requests.length;
    const lookup = async () => [v4('10.0.0.1'), { address: '::1', family: 6 }, v4('127.0.0.1')];
    await assert.rejects(
      guardedGet(target, WELL_KNOWN, options({ lookup, guard: new OutboundGuard([]) })),
      isFailure('refused'),
    );
    assert.equal(hs.requests.length, before);
  });

  it('reports a host name that does not resolve', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    };
    await assert.rejects(
      guardedGet({ ...target, host: 'nowhere.invalid' }, WELL_KNOWN, options({ lookup })),
      (err: unknown) => isFailure('unresolvable')(err) && (err as Error).message.includes('ENOTFOUND'),
    );
  });

  it('gives up at the deadline while the DNS lookup hangs', async () => {
    const started = performance.now();
    const lookup = () => new Promise<LookupAddress[]>(() => {});
    await assert.rejects(
      guardedGet(target, WELL_KNOWN, options({ lookup, signal: AbortSignal.timeout(100) })),
      isFailure('timeout'),
    );
    assert.ok(performance.now() - started < 1_000);
  });

  it('lets the well-known fetcher read a real well-known over it', async () => {
    hs.setWellKnown({ 'm.server': 'matrix.example.org:8448' });
    // The fake cannot listen on 443: send the fetcher's requests to its port instead.
    const fetch = createWellKnownFetcher((wanted, path, signal) =>
      guardedGet({ ...wanted, port: hs.port }, path, options({ signal })),
    );
    const answer = await fetch('localhost', AbortSignal.timeout(5_000));
    assert.deepEqual(answer.body, { 'm.server': 'matrix.example.org:8448' });
    assert.equal(hs.requests.at(-1)?.headers.host, 'localhost');
  });
});

import assert from 'node:assert/strict';
import type { SrvRecord } from 'node:dns';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { createDiscovery, type SrvResolver } from './discovery.js';
import { OutboundError } from './outbound-error.js';
import type { WellKnownFetcher, WellKnownResponse } from './well-known.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

type Answer = WellKnownResponse | Error;
type SrvAnswer = Array<SrvRecord & { ttl?: number }> | Error;

const wellKnown = (mServer: unknown, cacheControl?: string): WellKnownResponse => ({
  status: 200,
  cacheControl,
  body: { 'm.server': mServer },
});
const srv = (name: string, port: number, priority = 10, weight = 5): SrvRecord => ({ name, port, priority, weight });
const dnsError = (code: string) => Object.assign(new Error(`querySrv ${code}`), { code });

/** Discovery over a fake well-known fetcher and a fake SRV resolver, on a clock the test moves. */
function setup(wellKnowns: Record<string, Answer> = {}, srvRecords: Record<string, SrvAnswer> = {}) {
  const asked = { wellKnown: [] as string[], srv: [] as string[] };
  let now = 1_700_000_000_000;
  const fetchWellKnown: WellKnownFetcher = async (hostname) => {
    asked.wellKnown.push(hostname);
    const answer = wellKnowns[hostname] ?? { status: 404, cacheControl: undefined, body: undefined };
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const resolveSrv: SrvResolver = async (name) => {
    asked.srv.push(name);
    const answer = srvRecords[name] ?? dnsError('ENOTFOUND');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const discovery = createDiscovery({ fetchWellKnown, resolveSrv, now: () => now });
  return {
    asked,
    resolve: (serverName: string) => discovery.resolve(serverName, AbortSignal.timeout(5_000)),
    advance: (ms: number) => {
      now += ms;
    },
    wellKnowns,
    srvRecords,
  };
}

describe('server discovery', () => {
  it('uses an IPv4 literal as it is, on port 8448, with the server name as Host and no SNI', async () => {
    const { resolve, asked } = setup();
    assert.deepEqual(await resolve('1.2.3.4'), {
      host: '1.2.3.4',
      port: 8448,
      hostHeader: '1.2.3.4',
      tlsServerName: undefined,
    });
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('uses an IPv6 literal with its port, the Host header keeping brackets and port', async () => {
    const { resolve, asked } = setup();
    assert.deepEqual(await resolve('[2001:db8::1]:8449'), {
      host: '2001:db8::1',
      port: 8449,
      hostHeader: '[2001:db8::1]:8449',
      tlsServerName: undefined,
    });
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('uses a host name with an explicit port directly, Host being the server name', async () => {
    const { resolve, asked } = setup({ 'example.org': wellKnown('elsewhere.example:1') });
    assert.deepEqual(await resolve('example.org:8450'), {
      host: 'example.org',
      port: 8450,
      hostHeader: 'example.org:8450',
      tlsServerName: 'example.org',
    });
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('follows a well-known delegation with a port, Host and certificate being the delegated name', async () => {
    const { resolve, asked } = setup({ 'example.org': wellKnown('matrix.example.net:443') });
    assert.deepEqual(await resolve('example.org'), {
      host: 'matrix.example.net',
      port: 443,
      hostHeader: 'matrix.example.net:443',
      tlsServerName: 'matrix.example.net',
    });
    assert.deepEqual(asked, { wellKnown: ['example.org'], srv: [] });
  });

  it('follows a well-known delegation to an IP literal without SNI', async () => {
    const { resolve } = setup({ 'example.org': wellKnown('[2001:db8::5]') });
    assert.deepEqual(await resolve('example.org'), {
      host: '2001:db8::5',
      port: 8448,
      hostHeader: '[2001:db8::5]',
      tlsServerName: undefined,
    });
  });

  it('looks up _matrix-fed._tcp of a delegated name without a port, Host being the delegated name', async () => {
    const { resolve, asked } = setup(
      { 'example.org': wellKnown('matrix.example.net') },
      { '_matrix-fed._tcp.matrix.example.net': [srv('fed.example.net', 8500)] },
    );
    assert.deepEqual(await resolve('example.org'), {
      host: 'fed.example.net',
      port: 8500,
      hostHeader: 'matrix.example.net',
      tlsServerName: 'matrix.example.net',
    });
    assert.deepEqual(asked.srv, ['_matrix-fed._tcp.matrix.example.net']);
  });

  it('falls back to the deprecated _matrix._tcp of the delegated name', async () => {
    const { resolve, asked } = setup(
      { 'example.org': wellKnown('matrix.example.net') },
      { '_matrix._tcp.matrix.example.net': [srv('old.example.net', 8501)] },
    );
    assert.deepEqual(await resolve('example.org'), {
      host: 'old.example.net',
      port: 8501,
      hostHeader: 'matrix.example.net',
      tlsServerName: 'matrix.example.net',
    });
    assert.deepEqual(asked.srv, ['_matrix-fed._tcp.matrix.example.net', '_matrix._tcp.matrix.example.net']);
  });

  it('uses the delegated name on port 8448 when it has no SRV record', async () => {
    const { resolve } = setup({ 'example.org': wellKnown('matrix.example.net') });
    assert.deepEqual(await resolve('example.org'), {
      host: 'matrix.example.net',
      port: 8448,
      hostHeader: 'matrix.example.net',
      tlsServerName: 'matrix.example.net',
    });
  });

  it('without a well-known, looks up _matrix-fed._tcp of the server name, Host being the server name', async () => {
    const { resolve, asked } = setup({}, { '_matrix-fed._tcp.example.org': [srv('fed.example.org', 8443)] });
    assert.deepEqual(await resolve('example.org'), {
      host: 'fed.example.org',
      port: 8443,
      hostHeader: 'example.org',
      tlsServerName: 'example.org',
    });
    assert.deepEqual(asked, { wellKnown: ['example.org'], srv: ['_matrix-fed._tcp.example.org'] });
  });

  it('without a well-known, falls back to _matrix._tcp of the server name', async () => {
    const { resolve } = setup({}, { '_matrix._tcp.example.org': [srv('legacy.example.org', 8449)] });
    assert.deepEqual(await resolve('example.org'), {
      host: 'legacy.example.org',
      port: 8449,
      hostHeader: 'example.org',
      tlsServerName: 'example.org',
    });
  });

  it('ends with the server name on port 8448 when there is neither well-known nor SRV', async () => {
    const { resolve, asked } = setup();
    assert.deepEqual(await resolve('Example.ORG'), {
      host: 'example.org',
      port: 8448,
      hostHeader: 'example.org',
      tlsServerName: 'example.org',
    });
    assert.deepEqual(asked.srv, ['_matrix-fed._tcp.example.org', '_matrix._tcp.example.org']);
  });

  it('picks the SRV record of lowest priority, then highest weight, skipping a "." target', async () => {
    const records = [
      srv('c.example.org', 3, 20, 100),
      srv('.', 1, 0, 0),
      srv('a.example.org', 1, 10, 1),
      srv('b.example.org', 2, 10, 50),
    ];
    const { resolve } = setup({}, { '_matrix-fed._tcp.example.org': records });
    const target = await resolve('example.org');
    assert.deepEqual([target.host, target.port], ['b.example.org', 2]);
  });

  it('treats a failed, non-200 or malformed well-known like a missing one', async () => {
    const broken: Record<string, Answer> = {
      'unreachable.example': new OutboundError('timeout', 'unreachable.example:443 did not answer in time'),
      'error.example': { status: 500, cacheControl: undefined, body: undefined },
      'no-m-server.example': { status: 200, cacheControl: undefined, body: { 'm.homeserver': 'x' } },
      'bad-m-server.example': wellKnown('not a server name'),
      'number.example': wellKnown(8448),
      'array.example': { status: 200, cacheControl: undefined, body: ['m.server'] },
    };
    const { resolve } = setup(broken);
    for (const name of Object.keys(broken)) {
      assert.deepEqual(await resolve(name), { host: name, port: 8448, hostHeader: name, tlsServerName: name }, name);
    }
  });

  it('answers 400 M_INVALID_PARAM for an invalid server name, asking nobody', async () => {
    const { resolve, asked } = setup();
    await assert.rejects(
      resolve('bad name'),
      (err: unknown) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM',
    );
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('keeps a well-known for 24 h when it sends no max-age', async () => {
    const { resolve, asked, advance } = setup({ 'example.org': wellKnown('matrix.example.net:443') });
    await resolve('example.org');
    advance(24 * HOUR_MS - 1);
    await resolve('example.org');
    assert.equal(asked.wellKnown.length, 1);
    advance(1);
    await resolve('example.org');
    assert.equal(asked.wellKnown.length, 2);
  });

  it('keeps a well-known for its max-age, clamped to 1 h..48 h', async () => {
    const cases: Array<[cacheControl: string, keptMs: number]> = [
      ['public, max-age=7200', 2 * HOUR_MS],
      ['max-age=60', HOUR_MS],
      ['max-age=864000, must-revalidate', 48 * HOUR_MS],
    ];
    for (const [cacheControl, keptMs] of cases) {
      const { resolve, asked, advance } = setup({ 'example.org': wellKnown('matrix.example.net:443', cacheControl) });
      await resolve('example.org');
      advance(keptMs - 1);
      await resolve('example.org');
      assert.equal(asked.wellKnown.length, 1, `${cacheControl}: still cached`);
      advance(1);
      await resolve('example.org');
      assert.equal(asked.wellKnown.length, 2, `${cacheControl}: expired`);
    }
  });

  it('remembers a failed well-known for 10 minutes, then asks again and sees a new delegation', async () => {
    const { resolve, asked, advance, wellKnowns } = setup();
    await resolve('example.org');
    wellKnowns['example.org'] = wellKnown('matrix.example.net:443');
    advance(10 * MINUTE_MS - 1);
    assert.equal((await resolve('example.org')).host, 'example.org');
    assert.equal(asked.wellKnown.length, 1);
    advance(1);
    assert.equal((await resolve('example.org')).host, 'matrix.example.net');
    assert.equal(asked.wellKnown.length, 2);
  });

  it('keeps an SRV answer for 1 h, or for its TTL when the resolver gives one', async () => {
    const { resolve, asked, advance, srvRecords } = setup(
      {},
      { '_matrix-fed._tcp.example.org': [srv('fed.example.org', 8443)] },
    );
    await resolve('example.org');
    advance(HOUR_MS - 1);
    await resolve('example.org');
    assert.deepEqual(asked.srv, ['_matrix-fed._tcp.example.org']);
    srvRecords['_matrix-fed._tcp.example.org'] = [{ ...srv('fed.example.org', 8443), ttl: 300 }];
    advance(1);
    await resolve('example.org');
    assert.equal(asked.srv.length, 2);
    advance(300_000 - 1);
    await resolve('example.org');
    assert.equal(asked.srv.length, 2);
    advance(1);
    await resolve('example.org');
    assert.equal(asked.srv.length, 3);
  });

  it('remembers a missing SRV record for 10 minutes but not a DNS failure', async () => {
    const fed = '_matrix-fed._tcp.example.org';
    const { resolve, asked, advance, srvRecords } = setup({}, { [fed]: dnsError('ESERVFAIL') });
    await resolve('example.org');
    await resolve('example.org');
    assert.equal(asked.srv.filter((name) => name === fed).length, 2, 'SERVFAIL asked again');
    srvRecords[fed] = dnsError('ENODATA');
    await resolve('example.org');
    advance(10 * MINUTE_MS - 1);
    await resolve('example.org');
    assert.equal(asked.srv.filter((name) => name === fed).length, 3, 'ENODATA remembered');
    advance(1);
    await resolve('example.org');
    assert.equal(asked.srv.filter((name) => name === fed).length, 4, 'asked again after 10 minutes');
  });

  it('stops waiting for an SRV lookup that hangs when the deadline passes', async () => {
    const discovery = createDiscovery({
      fetchWellKnown: async () => ({ status: 404, cacheControl: undefined, body: undefined }),
      resolveSrv: () => new Promise(() => {}),
      now: Date.now,
    });
    const keepAlive = setTimeout(() => {}, 5_000); // the deadline's timer is unref'd; nothing else holds the loop open
    const started = performance.now();
    const target = await discovery.resolve('example.org', AbortSignal.timeout(100));
    clearTimeout(keepAlive);
    assert.equal(target.port, 8448);
    assert.ok(performance.now() - started < 1_000, 'returned soon after the deadline');
  });
});

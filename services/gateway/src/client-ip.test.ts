import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import { startSessionApp } from '../test-support/session-fixture.js';
import { clientIpResolver, rateLimitSubjectOf } from './client-ip.js';

const request = (peer: string, forwardedFor?: string | string[]) =>
  ({ socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwardedFor } }) as unknown as Request;

describe('client IP address', () => {
  const behindProxies = clientIpResolver(['10.0.0.0/8', '2001:db8::/32']);

  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    assert.equal(behindProxies(request('192.0.2.7', '198.51.100.1')), '192.0.2.7');
    assert.equal(clientIpResolver([])(request('10.0.0.1', '198.51.100.1')), '10.0.0.1');
  });

  it('is the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
    assert.equal(behindProxies(request('10.0.0.1', '203.0.113.9, 198.51.100.1, 10.1.1.1')), '198.51.100.1');
    assert.equal(behindProxies(request('10.0.0.1', ['203.0.113.9', '198.51.100.2, 10.1.1.1'])), '198.51.100.2');
    assert.equal(behindProxies(request('2001:db8::1', '2001:DB8::2, 2001:0db9::5')), '2001:db9::5');
  });

  it('reads IPv4-mapped peers and entries with ports or brackets', () => {
    assert.equal(behindProxies(request('::ffff:10.0.0.1', '198.51.100.3:4711')), '198.51.100.3');
    assert.equal(behindProxies(request('10.0.0.1', '[2001:db9::7]:443')), '2001:db9::7');
    assert.equal(clientIpResolver([])(request('::ffff:192.0.2.4')), '192.0.2.4');
  });

  it('stops at the trusted hop that forwarded an entry which is not an address', () => {
    assert.equal(behindProxies(request('10.0.0.1', '198.51.100.1, unknown, 10.2.2.2')), '10.2.2.2');
    assert.equal(behindProxies(request('10.0.0.1', 'garbage')), '10.0.0.1');
  });

  it('is the left-most hop when every hop is a trusted proxy, and the peer without the header', () => {
    assert.equal(behindProxies(request('10.0.0.1', '10.3.3.3, 10.2.2.2')), '10.3.3.3');
    assert.equal(behindProxies(request('10.0.0.1')), '10.0.0.1');
  });

  it('is counted for rate limits as itself (IPv4) or as its /64 (IPv6)', () => {
    assert.equal(rateLimitSubjectOf('192.0.2.1'), '192.0.2.1');
    assert.equal(rateLimitSubjectOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(rateLimitSubjectOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(rateLimitSubjectOf('2001:db8:1:2::7'), rateLimitSubjectOf('2001:db8:1:2:ffff::1'));
    assert.equal(rateLimitSubjectOf('::1'), '0:0:0:0::/64');
  });

  it('reaches the session service: X-Forwarded-For is believed only from a trusted proxy', async () => {
    const trusting = await startSessionApp({ trustedProxies: ['127.0.0.0/8'] });
    const untrusting = await startSessionApp({ trustedProxies: ['10.0.0.0/8'] });
    try {
      const json = { client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 };
      const headers = { 'x-forwarded-for': '203.0.113.50, 198.51.100.60' };
      for (const app of [trusting, untrusting])
        assert.equal((await app.call('/api/v1/validate/email/requestToken', { json, headers })).status, 200);
      assert.equal(trusting.session.callsOf('requestToken')[0]?.request.clientIp, '198.51.100.60');
      assert.deepEqual(trusting.limits.consumed[0], { scope: 'ip', subject: '198.51.100.60' });
      assert.equal(untrusting.session.callsOf('requestToken')[0]?.request.clientIp, '127.0.0.1');
    } finally {
      await trusting.close();
      await untrusting.close();
    }
  });
});

import { BlockList, isIP } from 'node:net';
import type { Request } from 'express';

export type ClientIpOf = (req: Request) => string;

/**
 * The client's IP address: the socket's peer, unless the peer is one of our trusted proxies; then
 * the right-most X-Forwarded-For entry that is not a trusted proxy (entries left of it were
 * written by the client and may be forged). An entry that is not an IP address stops the walk at
 * the trusted hop that wrote it.
 */
export function clientIpResolver(trustedCidrs: readonly string[]): ClientIpOf {
  const trusted = new BlockList();
  for (const cidr of trustedCidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
    trusted.addSubnet(network, Number(prefix), family);
  }
  const isTrusted = (ip: string) => trusted.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');

  return (req) => {
    let client = plainIp(req.socket.remoteAddress ?? '') ?? '';
    if (trustedCidrs.length === 0 || client === '' || !isTrusted(client)) return client;
    const hops = forwardedFor(req);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainIp(hops[i] ?? '');
      if (hop === undefined) return client;
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client; // every hop is ours: the left-most one is as close to the client as we know
  };
}

/** All X-Forwarded-For entries, in order, across repeated headers. */
function forwardedFor(req: Request): string[] {
  const raw = req.headers['x-forwarded-for'];
  const joined = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return joined
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/**
 * An address as plain text: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as IPv4, brackets and a port
 * removed (`[2001:db8::1]:443`, `192.0.2.1:80`), as some proxies write them; undefined if none.
 */
function plainIp(value: string): string | undefined {
  let ip = value;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed?.[1]) ip = bracketed[1];
  else if (/^[0-9.]+:\d+$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const mapped = /^::ffff:([0-9.]+)$/i.exec(ip);
  if (mapped?.[1]) ip = mapped[1];
  const family = isIP(ip);
  if (family === 4) return ip;
  // One address, one spelling (`2001:0DB8::1` is `2001:db8::1`): it keys the rate limits.
  return family === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : undefined;
}

/**
 * What the per-IP rate limit counts: an IPv4 address, or an IPv6 address's /64, since one
 * subscriber holds a whole /64 and could otherwise take a fresh address for every request.
 */
export function rateLimitSubjectOf(ip: string): string {
  if (isIP(ip) !== 6 || ip.includes('.')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).join(':')}::/64`;
}

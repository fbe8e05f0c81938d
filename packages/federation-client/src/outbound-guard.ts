import { BlockList, isIP } from 'node:net';
import { embeddedIpv4 } from './embedded-ipv4.js';

/**
 * Ranges no homeserver lives in: a request there reaches our own network (SSRF), not the federation.
 * IPv4 rules also match IPv4-mapped IPv6 (::ffff:a.b.c.d): BlockList checks those as IPv4.
 */
const REFUSED_RANGES = [
  '0.0.0.0/8', // "this network", including the unspecified 0.0.0.0
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata services live here)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, including the broadcast 255.255.255.255
  '::/96', // unspecified ::, loopback ::1, and the deprecated IPv4-compatible addresses
  '::ffff:0:0:0/96', // IPv4-translated (SIIT)
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard-only
  '2001::/23', // IETF protocol assignments (Teredo, benchmarking, ORCHID)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
];

/** Decides which IP addresses outbound HTTP may connect to. */
export class OutboundGuard {
  readonly #allowed = new BlockList();
  readonly #refused = new BlockList();

  /** `allowCidrs` (TESSERA_OUTBOUND_ALLOW) may be reached even inside a refused range; tests allow 127.0.0.0/8. */
  constructor(allowCidrs: readonly string[]) {
    for (const cidr of allowCidrs) addCidr(this.#allowed, cidr);
    for (const cidr of REFUSED_RANGES) addCidr(this.#refused, cidr);
  }

  /** True when `ip` (an address literal, not a host name) may be connected to. */
  isAllowed(ip: string): boolean {
    // A zone index (fe80::1%eth0) only goes with link-local addresses, and BlockList does not match it.
    if (ip.includes('%')) return false;
    const family = isIP(ip);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.#allowed.check(ip, type)) return true;
    if (this.#refused.check(ip, type)) return false;
    const inner = embeddedIpv4(ip);
    return inner === undefined || this.isAllowed(inner);
  }
}

function addCidr(list: BlockList, cidr: string): void {
  const [address = '', prefixText, ...rest] = cidr.trim().split('/');
  const family = isIP(address);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  const valid = family !== 0 && rest.length === 0 && Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix;
  if (!valid || prefixText === '') throw new Error(`invalid CIDR in the outbound allow list: ${cidr}`);
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

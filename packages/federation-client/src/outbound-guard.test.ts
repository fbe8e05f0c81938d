import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutboundGuard } from './outbound-guard.js';

const guard = new OutboundGuard([]);

/** Each refused range with addresses at its start and end. */
const REFUSED: Array<[range: string, addresses: string[]]> = [
  ['"this network" 0.0.0.0/8, with the unspecified address', ['0.0.0.0', '0.255.255.255']],
  ['private 10.0.0.0/8', ['10.0.0.0', '10.255.255.255']],
  ['carrier-grade NAT 100.64.0.0/10', ['100.64.0.0', '100.127.255.255']],
  ['loopback 127.0.0.0/8', ['127.0.0.1', '127.255.255.254']],
  ['link-local 169.254.0.0/16', ['169.254.0.1', '169.254.169.254']],
  ['private 172.16.0.0/12', ['172.16.0.0', '172.31.255.255']],
  ['private 192.168.0.0/16', ['192.168.0.0', '192.168.255.255']],
  ['documentation ranges', ['192.0.2.1', '198.51.100.7', '203.0.113.200', '2001:db8::1', '3fff::1']],
  ['benchmarking 198.18.0.0/15', ['198.18.0.0', '198.19.255.255']],
  ['IPv4 multicast 224.0.0.0/4', ['224.0.0.1', '239.255.255.255']],
  ['reserved 240.0.0.0/4 and the broadcast address', ['240.0.0.1', '255.255.255.255']],
  ['the IPv6 unspecified and loopback addresses', ['::', '::1', '0:0:0:0:0:0:0:1']],
  ['IPv6 link-local fe80::/10', ['fe80::1', 'febf:ffff::1']],
  ['IPv6 unique-local fc00::/7', ['fc00::1', 'fd12:3456::1']],
  ['IPv6 multicast ff00::/8', ['ff02::1', 'ff0e::101']],
  ['IPv6 site-local fec0::/10', ['fec0::1']],
  ['local-use NAT64 64:ff9b:1::/48', ['64:ff9b:1::a00:1']],
  [
    'IPv4-mapped IPv6 of refused IPv4',
    ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.1.2.3', '::ffff:169.254.169.254'],
  ],
  [
    'NAT64 and 6to4 wrapping a refused IPv4 address',
    ['64:ff9b::127.0.0.1', '64:ff9b::a00:1', '2002:7f00:1::1', '2002:c0a8:101::'],
  ],
];

describe('OutboundGuard', () => {
  for (const [range, addresses] of REFUSED) {
    it(`refuses ${range}`, () => {
      for (const ip of addresses) assert.equal(guard.isAllowed(ip), false, ip);
    });
  }

  it('allows public addresses, also when IPv4-mapped or wrapped by NAT64 and 6to4', () => {
    const publicAddresses = [
      '8.8.8.8',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ];
    for (const ip of publicAddresses) assert.equal(guard.isAllowed(ip), true, ip);
  });

  it('allows the addresses just outside the private and CGNAT ranges', () => {
    for (const ip of ['172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '11.0.0.0', '9.255.255.255'])
      assert.equal(guard.isAllowed(ip), true, ip);
  });

  it('refuses what is not an address literal, and addresses with a zone index', () => {
    for (const value of ['localhost', '', '1.2.3', '256.1.1.1', 'fe80::1%eth0', '2606:4700::1%1'])
      assert.equal(guard.isAllowed(value), false, value);
  });

  it('lets an allow-list CIDR reach addresses in a refused range, and no others', () => {
    const allowing = new OutboundGuard(['127.0.0.0/8', 'fd00::/8']);
    for (const ip of ['127.0.0.1', '127.9.9.9', '::ffff:127.0.0.1', 'fd12::1'])
      assert.equal(allowing.isAllowed(ip), true, ip);
    for (const ip of ['10.0.0.1', '::1', 'fc00::1', '192.168.1.1']) assert.equal(allowing.isAllowed(ip), false, ip);
  });

  it('reads an allow-list entry without a prefix as one address', () => {
    const allowing = new OutboundGuard(['10.1.2.3']);
    assert.equal(allowing.isAllowed('10.1.2.3'), true);
    assert.equal(allowing.isAllowed('10.1.2.4'), false);
  });

  it('throws at construction on an allow-list entry that is no CIDR', () => {
    for (const cidr of ['10.0.0.0/33', '::/129', '10.0.0.0/', 'example.org/8', '10.0.0.0/8/8', '10.0.0.0/x'])
      assert.throws(() => new OutboundGuard([cidr]), /invalid CIDR/, cidr);
  });
});

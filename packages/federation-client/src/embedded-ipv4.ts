import { isIPv6 } from 'node:net';

/**
 * The IPv4 address that a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address reaches, else undefined.
 * Both forward to an IPv4 host, so the guard must judge that host, not the wrapper around it.
 * (IPv4-mapped addresses, ::ffff:0:0/96, need no help: node's BlockList already checks them as IPv4.)
 */
export function embeddedIpv4(ip: string): string | undefined {
  const bytes = ipv6Bytes(ip);
  if (bytes === undefined) return undefined;
  const isNat64 = startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]);
  if (isNat64) return bytes.slice(12, 16).join('.');
  const is6to4 = startsWith(bytes, [0x20, 0x02]);
  if (is6to4) return bytes.slice(2, 6).join('.');
  return undefined;
}

/** The 16 bytes of an IPv6 address, including the forms with '::' and a dotted IPv4 tail. */
function ipv6Bytes(ip: string): number[] | undefined {
  if (!isIPv6(ip) || ip.includes('%')) return undefined;
  const [head = '', tail] = ip.split('::');
  const groups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').flatMap(groupWords);
  const left = groups(head);
  const right = groups(tail);
  const words =
    tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

/** One colon-separated part as 16-bit words: a hex group, or a dotted IPv4 tail (two words). */
function groupWords(group: string): number[] {
  if (!group.includes('.')) return [Number.parseInt(group, 16)];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

function startsWith(bytes: number[], prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

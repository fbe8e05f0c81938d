import { isIPv4, isIPv6 } from 'node:net';
import { TesseraError } from '@tessera/errors';

/** A Matrix server name, `hostname[:port]` as the server-server spec's grammar allows. */
export interface ServerName {
  /** Lowercase host name, or an IP literal (IPv6 without brackets). */
  hostname: string;
  port: number | undefined;
  ipLiteral: boolean;
  /** The name as written for a Host header: lowercase, IPv6 in brackets, port if given. */
  text: string;
}

const DNS_LABEL = /^[a-z0-9-]{1,63}$/;
const MAX_DNS_NAME = 255;

/** Parses a server name; anything else is a client's mistake: 400 M_INVALID_PARAM. */
export function parseServerName(value: string): ServerName {
  const parsed = tryParse(value.toLowerCase());
  if (parsed === undefined) throw new TesseraError('M_INVALID_PARAM', 'invalid server name');
  return parsed;
}

function tryParse(name: string): ServerName | undefined {
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(name);
  if (match === null) return undefined;
  const [, host = '', portText] = match;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  if (host.startsWith('[')) {
    const ip = host.slice(1, -1);
    return isIPv6(ip) && !ip.includes('%') ? { hostname: ip, port, ipLiteral: true, text: name } : undefined;
  }
  if (isIPv4(host)) return { hostname: host, port, ipLiteral: true, text: name };
  const labels = host.split('.');
  const isDnsName = host.length <= MAX_DNS_NAME && labels.every((label) => DNS_LABEL.test(label));
  return isDnsName ? { hostname: host, port, ipLiteral: false, text: name } : undefined;
}

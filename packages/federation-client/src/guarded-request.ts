import type { LookupAddress } from 'node:dns';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { OutboundError } from './outbound-error.js';
import type { OutboundGuard } from './outbound-guard.js';
import { raceAbort } from './race-abort.js';

/** Where one HTTPS request goes: what discovery finds for a server name. */
export interface HttpsTarget {
  /** Where to connect: a host name (looked up) or an IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  /** The Host header: a server name, which differs from `host` after SRV or delegation. */
  hostHeader: string;
  /** The name the certificate must carry, sent as SNI; undefined for an IP literal (its certificate names the IP). */
  tlsServerName: string | undefined;
}

/** Every address of a host name, like dns.lookup with `all: true`. */
export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

export interface GuardedRequestOptions {
  guard: OutboundGuard;
  lookup: LookupAll;
  /** TESSERA_OUTBOUND_VERIFY_TLS: false accepts any certificate (development only). */
  verifyTls: boolean;
  /** A CA to trust besides the system's (tests, private federations). */
  ca?: string | undefined;
  maxBodyBytes?: number | undefined;
  /**
   * The caller's deadline (AbortSignal.timeout: a 'timeout' failure) or its giving up (any other
   * abort: 'aborted'); it covers the DNS lookup, the connection and the whole body, or with
   * `statusOnly` the reply's head and the body drained after it.
   */
  signal: AbortSignal;
  /**
   * Answer as soon as the reply's status and headers are in, with an empty body: the body is then
   * drained (up to `maxBodyBytes`, cut off beyond, until the signal aborts) without ever failing
   * the request. For a caller that needs the status only: a reply that came cannot be undone by
   * what follows it.
   */
  statusOnly?: boolean;
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `host:port` it came from, for messages. */
  from: string;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** One request: its method, path (with any query) and, for POST or PUT, a JSON body. */
export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** JSON text, sent as application/json. */
  json?: string;
}

/** GET over HTTPS to a target the guard allows (guardedRequest). */
export function guardedGet(target: HttpsTarget, path: string, options: GuardedRequestOptions): Promise<HttpsResponse> {
  return guardedRequest(target, { method: 'GET', path }, options);
}

/**
 * A request over HTTPS to a target the guard allows. The host is looked up once, refused addresses
 * are dropped, and the connection may only use what is left: a second DNS answer (rebinding) never
 * reaches the socket. Every failure is an OutboundError (502); none names the path, which may hold a token.
 */
export async function guardedRequest(
  target: HttpsTarget,
  { method, path, json }: OutboundRequest,
  options: GuardedRequestOptions,
): Promise<HttpsResponse> {
  const from = isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const timedOut = () => abortFailure(options.signal, from);
  const addresses = await checkedAddresses(target.host, options, timedOut);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { signal } = options;

  return new Promise<HttpsResponse>((resolve, reject) => {
    const settle = (outcome: () => void) => {
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (err: OutboundError) =>
      settle(() => {
        req.destroy();
        reject(err);
      });
    const onAbort = () => fail(timedOut());
    const req = request(
      {
        host: target.host,
        port: target.port,
        path,
        method,
        headers: {
          host: target.hostHeader,
          accept: 'application/json',
          ...(json === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }),
        },
        servername: target.tlsServerName ?? '', // '': no SNI for an IP literal; the certificate is checked against the IP
        rejectUnauthorized: options.verifyTls,
        ca: options.ca === undefined ? undefined : [...rootCertificates, options.ca],
        lookup: fixedLookup(addresses),
        agent: false, // no pooled socket: each connection goes through the addresses checked for it
      },
      (res) => {
        if (options.statusOnly) {
          settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0), from }));
          drainBody(res, maxBodyBytes, signal);
          return;
        }
        readBody(res, maxBodyBytes, from).then(
          (body) => settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, from })),
          fail,
        );
      },
    );
    req.on('error', (err) => fail(socketFailure(err, from)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    req.end(json);
  });
}

async function checkedAddresses(
  host: string,
  options: GuardedRequestOptions,
  timedOut: () => OutboundError,
): Promise<LookupAddress[]> {
  const family = isIP(host);
  const found = family === 0 ? await lookupAll(host, options, timedOut) : [{ address: host, family }];
  const allowed = found.filter(({ address }) => options.guard.isAllowed(address));
  if (allowed.length === 0)
    throw new OutboundError('refused', `every address of ${host} is in a range outbound requests may not reach`);
  return allowed;
}

async function lookupAll(host: string, options: GuardedRequestOptions, timedOut: () => OutboundError) {
  try {
    return await raceAbort(options.lookup(host), options.signal, timedOut);
  } catch (err) {
    if (err instanceof OutboundError) throw err;
    throw new OutboundError('unresolvable', `could not resolve ${host} (${errorCode(err)})`, { cause: err });
  }
}

/** A `lookup` for the socket that answers with the checked addresses only, never asking DNS again. */
function fixedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) return callback(null, addresses);
    const [first] = addresses; // checkedAddresses never returns an empty list
    callback(null, first?.address ?? '', first?.family);
  };
}

/** What an aborted signal means: the caller's deadline passed, or the caller gave up. */
function abortFailure(signal: AbortSignal, from: string): OutboundError {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== 'TimeoutError'
    ? new OutboundError('aborted', `the request to ${from} was given up`)
    : new OutboundError('timeout', `${from} did not answer in time`);
}

/** Reads a reply's body to its end and drops it, so that the server sees it read; never more than `maxBytes`, never past the signal. */
function drainBody(res: IncomingMessage, maxBytes: number, signal: AbortSignal): void {
  const cutOff = () => {
    res.destroy();
  };
  res.on('error', () => {}); // the caller has its answer: a failure now changes nothing
  if (signal.aborted || Number(res.headers['content-length']) > maxBytes) {
    cutOff();
    return;
  }
  signal.addEventListener('abort', cutOff, { once: true });
  res.on('close', () => signal.removeEventListener('abort', cutOff));
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) cutOff();
  });
}

function readBody(res: IncomingMessage, maxBytes: number, from: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new OutboundError('too-large', `the reply from ${from} is larger than ${maxBytes} bytes`);
    if (Number(res.headers['content-length']) > maxBytes) {
      res.destroy();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      res.destroy(); // a chunked reply without Content-Length is cut off here, not read to the end
      reject(tooLarge());
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', (err) => reject(socketFailure(err, from)));
    res.on('close', () => {
      if (!res.complete) reject(new OutboundError('connect', `${from} closed the connection mid-reply`));
    });
  });
}

/** TLS failures (certificate, handshake) apart from the rest; the code, not the message, goes in ours. */
function socketFailure(err: unknown, from: string): OutboundError {
  const code = errorCode(err);
  return /CERT|SSL|TLS|UNABLE_TO/.test(code)
    ? new OutboundError('tls', `TLS with ${from} failed (${code})`, { cause: err })
    : new OutboundError('connect', `connection to ${from} failed (${code})`, { cause: err });
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'no error code';
}

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { ConfigError } from '@tessera/config';
import { matrixErrorOf, TemporarilyUnavailable, TesseraError, UNAVAILABLE } from '@tessera/errors';
import { type HostPort, parseHostPort } from './addresses.js';
import type { Logger } from './logger.js';

// A service's operator HTTP API (the directory's binds and imports, the invite service's
// revocations): on its own port, off unless its *_ADMIN_LISTEN is set, POST only, every request
// with the bearer token when one is configured; bad input is a Matrix error, never a 500.

export interface AdminApi {
  port: number;
  close(): Promise<void>;
}

export interface AdminApiOptions {
  /** Named in the log line: "directory admin API listening". */
  service: string;
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  /** Its endpoints: any other path is 404 M_UNRECOGNIZED, any other method 405. */
  paths: readonly string[];
  /** Answers one POST to one of `paths` with the JSON body to send (200), or throws a TesseraError. */
  route(path: string, req: IncomingMessage): Promise<unknown>;
  log: Logger;
  /** Node's request timeout; 0 (the default) for none: an import streams for longer than 5 minutes. */
  requestTimeoutMs?: number;
}

const MIN_TOKEN_LENGTH = 16;
// A bind, unbind or revoke body is a few hundred bytes; an import batch says its own bound.
const MAX_BODY_BYTES = 64 * 1024;

/** The admin token: the file's text, trimmed; at least 16 characters. Throws ConfigError naming `setting`. */
export function readAdminToken(file: string, setting: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new ConfigError(`${setting}: ${file} must hold one token of at least ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/**
 * The token of an admin API from its two settings: none needed on a loopback address, required
 * anywhere else (ConfigError naming the token file's setting); null when there is none.
 */
export function adminTokenOf(
  listen: { setting: string; value: string | undefined },
  tokenFile: { setting: string; value: string | undefined },
): string | null {
  if (listen.value !== undefined && tokenFile.value === undefined && !isLoopback(parseHostPort(listen.value).host))
    throw new ConfigError(`${tokenFile.setting}: required when ${listen.setting} is not a loopback address`);
  return tokenFile.value === undefined ? null : readAdminToken(tokenFile.value, tokenFile.setting);
}

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

export async function startAdminApi(options: AdminApiOptions): Promise<AdminApi> {
  const { listen, token, paths, route, log } = options;
  const expected = token === null ? null : Buffer.from(token, 'utf8');
  const authorised = (req: IncomingMessage) => {
    if (expected === null) return true;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '', 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const answer = async (req: IncomingMessage): Promise<unknown> => {
    if (!authorised(req)) throw new TesseraError('M_UNAUTHORIZED', 'missing or wrong admin token');
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (!paths.includes(path)) throw new TesseraError('M_UNRECOGNIZED', 'unknown admin endpoint');
    if (req.method !== 'POST') throw new TesseraError('M_UNRECOGNIZED', 'use POST', { httpStatus: 405 });
    return route(path, req);
  };

  const server = createServer({ requestTimeout: options.requestTimeoutMs ?? 0 }, (req, res) => {
    answer(req).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        const { status, body } = errorOf(err, log);
        send(res, status, body);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: listen.host, port, token: token !== null }, `${options.service} admin API listening`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function errorOf(err: unknown, log: Logger) {
  if (err instanceof TesseraError) return matrixErrorOf(err);
  if (err instanceof TemporarilyUnavailable) {
    log.warn({ problem: err.message }, 'admin request: backend unavailable');
    return UNAVAILABLE;
  }
  log.error({ err }, 'unexpected error in the admin API');
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'internal error' } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The request's body: one JSON object of at most `maxBytes` (64 KiB unless said: an import batch
 * says more), else the Matrix error that says what is wrong.
 */
export async function readJsonObject(
  req: IncomingMessage,
  maxBytes = MAX_BODY_BYTES,
): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new TesseraError('M_TOO_LARGE', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return parseJsonObject(Buffer.concat(chunks).toString('utf8'), 'the body');
}

/** `text` as a JSON object; else M_NOT_JSON or M_BAD_JSON naming `what` ("the body"). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TesseraError('M_NOT_JSON', `${what} is not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TesseraError('M_BAD_JSON', `${what} must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/**
 * The `items` of an import batch (`{"items": [...]}`, @tessera/admin-imports): at most `maxItems`
 * of them, else 413 M_TOO_LARGE; the body at most `maxBytes`. Each item is the caller's to check.
 */
export async function readImportItems(
  req: IncomingMessage,
  { maxItems, maxBytes }: { maxItems: number; maxBytes: number },
): Promise<unknown[]> {
  const { items } = await readJsonObject(req, maxBytes);
  if (!Array.isArray(items)) throw new TesseraError('M_BAD_JSON', 'items must be an array');
  if (items.length > maxItems) throw new TesseraError('M_TOO_LARGE', `at most ${maxItems} items per request`);
  return items;
}

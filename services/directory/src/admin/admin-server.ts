import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@tessera/config';
import { matrixErrorOf, TemporarilyUnavailable, TesseraError, UNAVAILABLE } from '@tessera/errors';
import type { HostPort, Logger } from '@tessera/service-kit';
import type { Binder } from '../binder.js';
import type { Peppers } from '../peppers.js';
import { parseAdminThreepid } from './admin-input.js';
import { ADMIN_PATHS } from './admin-paths.js';
import { importAssociations } from './import.js';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export interface AdminApiOptions {
  listen: HostPort;
  /** The bearer token every request must carry; null: none (loopback only, checked at start). */
  token: string | null;
  binder: Binder;
  peppers: Peppers;
  log: Logger;
}

// A bind or unbind body is a few hundred bytes; an import is streamed, line by line.
const MAX_BODY_BYTES = 64 * 1024;
const MIN_TOKEN_LENGTH = 16;

/** The admin token: the file's text, trimmed; at least 16 characters. Throws ConfigError naming the key. */
export function readAdminToken(file: string): string {
  const name = 'TESSERA_DIRECTORY_ADMIN_TOKEN_FILE';
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new ConfigError(`${name}: ${file} must hold one token of at least ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/**
 * The directory's admin HTTP API (Sydent's internal bind and unbind, imports, pepper rotation),
 * on its own port, off unless TESSERA_DIRECTORY_ADMIN_LISTEN is set. Every request carries the
 * bearer token when one is configured. Bad input is a Matrix error, never a 500.
 */
export async function startAdminApi({ listen, token, binder, peppers, log }: AdminApiOptions): Promise<AdminServer> {
  const expected = token === null ? null : Buffer.from(token, 'utf8');
  const authorised = (req: IncomingMessage) => {
    if (expected === null) return true;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '', 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const route = async (req: IncomingMessage): Promise<unknown> => {
    if (!authorised(req)) throw new TesseraError('M_UNAUTHORIZED', 'missing or wrong admin token');
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (!Object.values(ADMIN_PATHS).includes(path as never))
      throw new TesseraError('M_UNRECOGNIZED', 'unknown admin endpoint');
    if (req.method !== 'POST') throw new TesseraError('M_UNRECOGNIZED', 'use POST', { httpStatus: 405 });
    switch (path) {
      case ADMIN_PATHS.bind: {
        const body = await readJsonObject(req);
        const threepid = parseAdminThreepid(body, { withMxid: true });
        return JSON.parse(await binder.bind({ ...threepid, source: 'admin' })) as unknown;
      }
      case ADMIN_PATHS.unbind: {
        const { medium, address } = parseAdminThreepid(await readJsonObject(req), { withMxid: false });
        await binder.unbind({ medium, address, mxid: null, authority: 'admin' });
        return {};
      }
      case ADMIN_PATHS.import:
        return importAssociations(req, binder, log);
      default:
        return { pepper_id: await peppers.rotate() };
    }
  };

  // No request timeout (Node's default is 5 minutes): an import of millions of lines streams for longer.
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    route(req).then(
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
  log.info({ host: listen.host, port, token: token !== null }, 'directory admin API listening');
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

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new TesseraError('M_TOO_LARGE', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TesseraError('M_NOT_JSON', 'the body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TesseraError('M_BAD_JSON', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

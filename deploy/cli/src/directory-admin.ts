import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '@tessera/config';
import { UsageError } from './cli.js';

/** Where the directory's admin API answers, and the bearer token it wants (null: none). */
export type AdminEndpoint = { url: string; token: string | null };

/**
 * The admin API's URL: `--admin-url`, else TESSERA_DIRECTORY_ADMIN_LISTEN (the directory's own
 * setting; a wildcard host is reached on loopback), else what the local runner of TESSERA_DATA_DIR
 * wrote in its state file. The token: the file of TESSERA_DIRECTORY_ADMIN_TOKEN_FILE, when set.
 */
export function adminEndpointOf(config: Config, adminUrlFlag: string | undefined, cwd = process.cwd()): AdminEndpoint {
  const url = adminUrlFlag ?? urlOfListen(config.TESSERA_DIRECTORY_ADMIN_LISTEN) ?? runnerAdminUrl(config, cwd);
  if (url === undefined)
    throw new UsageError(
      'cannot find the directory admin API: give --admin-url, set TESSERA_DIRECTORY_ADMIN_LISTEN, or point ' +
        'TESSERA_DATA_DIR at a running local runner',
    );
  if (!/^http:\/\/[^/]+\/?$/.test(url)) throw new UsageError(`--admin-url: expected http://host:port (got ${url})`);
  const tokenFile = config.TESSERA_DIRECTORY_ADMIN_TOKEN_FILE;
  return { url: url.replace(/\/$/, ''), token: tokenFile === undefined ? null : readToken(tokenFile) };
}

function urlOfListen(listen: string | undefined): string | undefined {
  if (listen === undefined) return undefined;
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${listen.slice(at + 1)}`;
}

function runnerAdminUrl(config: Config, cwd: string): string | undefined {
  try {
    const state = JSON.parse(readFileSync(join(resolve(cwd, config.TESSERA_DATA_DIR), 'run', 'state.json'), 'utf8'));
    const url = state?.services?.directory?.adminUrl;
    return typeof url === 'string' && state.status !== 'stopped' ? url : undefined;
  } catch {
    return undefined;
  }
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`TESSERA_DIRECTORY_ADMIN_TOKEN_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** The admin API answered with a Matrix error. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    error: string,
  ) {
    super(`HTTP ${status} ${errcode}: ${error}`);
  }
}

/**
 * POSTs `body` (a JSON value, or a stream sent as it is read) and answers the parsed JSON of a
 * 200. No timeout: an import answers once the projector has applied its last line.
 */
export function postAdmin(endpoint: AdminEndpoint, path: string, body: unknown | Readable): Promise<unknown> {
  const streamed = isReadable(body);
  return new Promise((resolvePost, reject) => {
    const req = request(`${endpoint.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': streamed ? 'application/x-ndjson' : 'application/json',
        ...(endpoint.token === null ? {} : { authorization: `Bearer ${endpoint.token}` }),
      },
    });
    req.once('error', (err) =>
      reject(new Error(`cannot reach the directory admin API at ${endpoint.url}: ${err.message}`)),
    );
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> | null = null;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {}
        if (res.statusCode === 200 && parsed !== null) return resolvePost(parsed);
        reject(
          new AdminApiError(
            res.statusCode ?? 0,
            typeof parsed?.errcode === 'string' ? parsed.errcode : 'M_UNKNOWN',
            typeof parsed?.error === 'string' ? parsed.error : text.slice(0, 200),
          ),
        );
      });
    });
    if (!streamed) {
      req.end(JSON.stringify(body));
      return;
    }
    body.once('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

const isReadable = (value: unknown): value is Readable =>
  value !== null && typeof value === 'object' && typeof (value as Readable).pipe === 'function';

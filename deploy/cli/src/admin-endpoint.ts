import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '@tessera/config';
import { UsageError } from './cli.js';

/** The services with an admin HTTP API, and the settings that say where it listens and its token. */
const ADMIN_SETTINGS = {
  directory: { listen: 'TESSERA_DIRECTORY_ADMIN_LISTEN', tokenFile: 'TESSERA_DIRECTORY_ADMIN_TOKEN_FILE' },
  invite: { listen: 'TESSERA_INVITE_ADMIN_LISTEN', tokenFile: 'TESSERA_INVITE_ADMIN_TOKEN_FILE' },
  session: { listen: 'TESSERA_SESSION_ADMIN_LISTEN', tokenFile: 'TESSERA_SESSION_ADMIN_TOKEN_FILE' },
} as const satisfies Record<string, { listen: keyof Config; tokenFile: keyof Config }>;

export type AdminService = keyof typeof ADMIN_SETTINGS;

/** Where a service's admin API answers, and the bearer token it wants (null: none). */
export type AdminEndpoint = { service: AdminService; url: string; token: string | null };

/**
 * The admin API's URL: `--admin-url`, else the service's *_ADMIN_LISTEN (a wildcard host is
 * reached on loopback), else what the local runner of TESSERA_DATA_DIR wrote in its state file.
 * The token: the file of the service's *_ADMIN_TOKEN_FILE, when set.
 */
export function adminEndpointOf(
  service: AdminService,
  config: Config,
  adminUrlFlag: string | undefined,
  cwd = process.cwd(),
  flagName = '--admin-url',
): AdminEndpoint {
  const settings = ADMIN_SETTINGS[service];
  const url = adminUrlFlag ?? urlOfListen(config[settings.listen]) ?? runnerAdminUrl(service, config, cwd);
  if (url === undefined)
    throw new UsageError(
      `cannot find the ${service} admin API: give ${flagName}, set ${settings.listen}, or point ` +
        'TESSERA_DATA_DIR at a running local runner',
    );
  if (!/^http:\/\/[^/]+\/?$/.test(url)) throw new UsageError(`${flagName}: expected http://host:port (got ${url})`);
  const tokenFile = config[settings.tokenFile];
  return {
    service,
    url: url.replace(/\/$/, ''),
    token: tokenFile === undefined ? null : readToken(tokenFile, settings.tokenFile),
  };
}

function urlOfListen(listen: string | undefined): string | undefined {
  if (listen === undefined) return undefined;
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${listen.slice(at + 1)}`;
}

function runnerAdminUrl(service: AdminService, config: Config, cwd: string): string | undefined {
  try {
    const state = JSON.parse(readFileSync(join(resolve(cwd, config.TESSERA_DATA_DIR), 'run', 'state.json'), 'utf8'));
    const url = state?.services?.[service]?.adminUrl;
    return typeof url === 'string' && state.status !== 'stopped' ? url : undefined;
  } catch {
    return undefined;
  }
}

function readToken(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`${setting}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** The admin API could not be reached, or the connection failed before an answer came. */
export class AdminApiUnreachable extends Error {}

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
      // A connection of its own: a kept-alive one may be closed by the server just as it is reused
      // (after the CLI was busy reading the database for longer than the server keeps it).
      agent: false,
      headers: {
        'content-type': streamed ? 'application/x-ndjson' : 'application/json',
        ...(endpoint.token === null ? {} : { authorization: `Bearer ${endpoint.token}` }),
      },
    });
    req.once('error', (err) =>
      reject(
        new AdminApiUnreachable(`cannot reach the ${endpoint.service} admin API at ${endpoint.url}: ${err.message}`),
      ),
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

/**
 * The flags of an admin command, anywhere among its arguments: `--admin-url <url>` (or
 * `--admin-url=<url>`) and the command's own `valueFlags`, each with a value; the rest in order.
 */
export function splitFlags(
  args: string[],
  command: string,
  valueFlags: readonly string[] = [],
): { positional: string[]; adminUrl: string | undefined; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  const known = ['admin-url', ...valueFlags];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = arg.startsWith('--') ? (arg.slice(2).split('=')[0] as string) : undefined;
    if (name === undefined) positional.push(arg);
    else if (!known.includes(name)) throw new UsageError(`${command}: unexpected ${JSON.stringify(arg)}`);
    else if (arg.includes('=')) flags[name] = arg.slice(arg.indexOf('=') + 1);
    else {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    }
  }
  const { 'admin-url': adminUrl, ...own } = flags;
  return { positional, adminUrl, flags: own };
}

import { get } from 'node:http';
import { connect } from 'node:net';

/** True once something accepts TCP connections on host:port. */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * GET over plain HTTP with a fresh connection (no keep-alive agent that could hold the event loop
 * open after the server is gone); rejects on network errors only.
 */
export function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** GET a JSON document; rejects unless the status is 200. */
export async function httpGetJson(url: string): Promise<unknown> {
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}: ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}

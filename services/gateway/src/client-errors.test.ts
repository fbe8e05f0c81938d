import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@tessera/service-kit';
import { captureLogs, type LogLine } from '@tessera/test-harness';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import { listen, type RunningHttpServer } from './http-server.js';
import { statusRoutes } from './routes/status.js';

// What clients that do not speak HTTP well get back: raw bytes in, the whole answer out.
let server: RunningHttpServer;
let lines: LogLine[];
// The server side of each open connection, for the request-timeout test.
const connections = new Set<Socket>();

before(async () => {
  const captured = captureLogs((out) => createLogger('gateway-test', 'debug', out));
  lines = captured.lines;
  const app = createApp({
    routes: [
      ...statusRoutes(),
      { method: 'POST', path: '/v2/echo', body: 'json', handler: (req, res) => void res.json(req.body) },
    ],
    maxBodyBytes: 64 * 1024,
    log: captured.log,
    registry: new Registry(),
  });
  server = await listen(app, '127.0.0.1', 0, captured.log);
  server.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
});
after(() => server.close());

type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/** Writes `text` on a fresh connection and reads until the server closes it (or answers in full). */
function exchange(text: string | Buffer, onSocket?: (socket: Socket) => void | Promise<void>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(text);
      void Promise.resolve(onSocket?.(socket)).catch(reject);
    });
    let received = '';
    const finish = () => {
      const [head = '', ...rest] = received.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      // A keep-alive answer (the app's own) ends where its Content-Length says.
      const match = /content-length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/i.exec(received);
      if (match && Buffer.byteLength(match[2] ?? '') >= Number(match[1])) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', finish);
  });
}

function assertMatrixError(answer: RawAnswer, status: number, errcode: string) {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  assert.equal(body.errcode, errcode);
  assert.equal(typeof body.error, 'string');
  assert.equal(answer.headers['access-control-allow-origin'], '*');
}

describe("Node's own refusals, answered as Matrix errors", () => {
  it('answers oversized headers with 431 JSON', async () => {
    const big = 'a'.repeat(20_000);
    assertMatrixError(
      await exchange(`GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`),
      431,
      'M_TOO_LARGE',
    );
  });

  it('answers an unknown method with 400 JSON', async () => {
    assertMatrixError(await exchange('FOO /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'M_UNRECOGNIZED');
  });

  it('answers broken framing with 400 JSON: a bad chunk, Content-Length with chunked, a bad version', async () => {
    const requests = [
      'POST /_matrix/identity/v2/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST /_matrix/identity/v2/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET /_matrix/identity/v2 HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /_matrix/identity/v2/a b HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    for (const request of requests) assertMatrixError(await exchange(request), 400, 'M_UNRECOGNIZED');
  });

  it('answers a request that came too slowly with 408 JSON', async () => {
    // Node's request timeout fires on its own schedule (every 30 s at best): its event is raised here.
    const answer = await exchange('GET /_matrix/identity/v2 HTTP/1.1\r\n', async (client) => {
      let connection: Socket | undefined;
      while (connection === undefined) {
        connection = [...connections].find((socket) => socket.remotePort === client.localPort);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const timeout = Object.assign(new Error('request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
      server.server.emit('clientError', timeout, connection);
    });
    assertMatrixError(answer, 408, 'M_UNKNOWN');
  });

  it('answers CONNECT with 405 JSON', async () => {
    assertMatrixError(
      await exchange('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'),
      405,
      'M_UNRECOGNIZED',
    );
  });

  it('answers an expectation it cannot meet with 417 JSON', async () => {
    const request =
      'POST /_matrix/identity/v2/echo HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}';
    assertMatrixError(await exchange(request), 417, 'M_UNRECOGNIZED');
  });

  it('answers an HTTP/1.1 request without Host with 400 JSON, and HTTP/1.0 without one normally', async () => {
    assertMatrixError(await exchange('GET /_matrix/identity/v2 HTTP/1.1\r\n\r\n'), 400, 'M_UNRECOGNIZED');
    const old = await exchange('GET /_matrix/identity/v2 HTTP/1.0\r\n\r\n');
    assert.deepEqual([old.status, old.body], [200, '{}']);
  });

  it('answers a compressed body that does not inflate with 400 M_NOT_JSON', async () => {
    const request =
      'POST /_matrix/identity/v2/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}';
    assertMatrixError(await exchange(request), 400, 'M_NOT_JSON');
  });

  it('logs none of it above debug', () => {
    assert.ok(lines.length > 0, 'the refusals were logged at debug');
    assert.deepEqual(
      lines.filter((line) => line.level !== 'debug'),
      [],
    );
  });
});

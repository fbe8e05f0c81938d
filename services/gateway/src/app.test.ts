import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { currentCorrelationId } from '@tessera/correlation';
import { createLogger } from '@tessera/service-kit';
import { KeyBook } from '@tessera/signing-keys';
import { captureLogs } from '@tessera/test-harness';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import { listen, type RunningHttpServer } from './http-server.js';
import { publicKeysOf } from './public-keys/public-keys.js';
import { type SigningKeyLister, unknownKeys } from './public-keys/unknown-keys.js';
import { pubkeyRoutes } from './routes/pubkey.js';
import { statusRoutes } from './routes/status.js';

const PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const REVOKED_KEY = 'Pkoq9FLgkhHyIwvNGvNgqQvNdQqyVpAfVGOF4kMJVqc';
/** A key signing holds whose announcement the gateway has not read yet: the one it asks signing about. */
const NOT_YET_ANNOUNCED = 'ed25519:new';

const unavailable = (): ServiceError =>
  Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: status.UNAVAILABLE,
    details: 'No connection established',
    metadata: new Metadata(),
  });

// The keys as the event stream told them (follow-keys.ts reads them from a real nats-server in its
// own test), and a signing port faked in memory for the keys the stream has not mentioned: the
// gateway's own behaviour is under test here; real signing is covered by the end-to-end suite.
const keyBook = new KeyBook();
const at = new Date();
keyBook.apply('ed25519:0', 1, [
  { type: 'KeyCreated', data: { keyId: 'ed25519:0', algorithm: 'ed25519', publicKey: PUBLIC_KEY, at } },
]);
keyBook.apply('ed25519:1', 2, [
  { type: 'KeyCreated', data: { keyId: 'ed25519:1', algorithm: 'ed25519', publicKey: REVOKED_KEY, at } },
]);
keyBook.apply('ed25519:1', 3, [{ type: 'KeyRevoked', data: { keyId: 'ed25519:1', reason: 'leaked', at } }]);
let signingDown = false;
let backendSawCorrelationId: string | undefined;
const fakeSigning: SigningKeyLister = {
  listKeys: async () => {
    backendSawCorrelationId = currentCorrelationId(); // what the real client sends as gRPC metadata
    if (signingDown) throw unavailable();
    // Signing reads revocations only when it starts: it may still call a revoked key valid.
    return {
      keys: [
        { keyId: NOT_YET_ANNOUNCED, publicKey: PUBLIC_KEY, valid: true },
        { keyId: 'ed25519:1', publicKey: REVOKED_KEY, valid: true },
      ],
    };
  },
};

let server: RunningHttpServer;
let base: string;
const { log, lines } = captureLogs((out) => createLogger('gateway-test', 'debug', out));
// The line every request leaves (access-log.ts); the tests below look at what else was logged.
const notAccessLog = (line: { msg?: unknown }) => line.msg !== 'request';
const registry = new Registry();

before(async () => {
  const app = createApp({
    routes: [
      ...statusRoutes(),
      ...pubkeyRoutes(publicKeysOf(keyBook, unknownKeys(fakeSigning, { freshMs: 0 }))),
      { method: 'POST', path: '/v2/echo', body: 'json', handler: (req, res) => void res.json(req.body) },
      {
        method: 'POST',
        path: '/v2/correlation',
        body: 'json',
        handler: async (_req, res) => {
          await new Promise((ok) => setImmediate(ok));
          res.json({ correlationId: currentCorrelationId() });
        },
      },
    ],
    maxBodyBytes: 64 * 1024,
    log,
    registry,
    accessLog: true,
  });
  server = await listen(app, '127.0.0.1', 0, log);
  base = `http://127.0.0.1:${server.port}`;
});
after(() => server.close());

async function get(path: string, init?: RequestInit) {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { res, status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

describe('gateway routing', () => {
  it('lists the supported spec versions', async () => {
    const { status, body } = await get('/_matrix/identity/versions');
    assert.equal(status, 200);
    const versions = body?.versions as string[];
    assert.ok(versions.includes('r0.3.0') && versions.includes('v1.1'));
  });

  it('answers both status endpoints with an empty object', async () => {
    for (const path of ['/_matrix/identity/v2', '/_matrix/identity/api/v1']) {
      const { status, body, res } = await get(path);
      assert.equal(status, 200, path);
      assert.deepEqual(body, {});
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    }
  });

  it('answers an unknown path with 404 M_UNRECOGNIZED', async () => {
    for (const path of ['/_matrix/identity/v2/nonexistent', '/elsewhere', '/_matrix/identity/v3']) {
      const { status, body } = await get(path);
      assert.equal(status, 404, path);
      assert.equal(body?.errcode, 'M_UNRECOGNIZED');
      assert.equal(typeof body?.error, 'string');
    }
  });

  it('answers a path whose percent-encoding does not decode with 400 M_UNRECOGNIZED, logging no error', async () => {
    const paths = [
      '/_matrix/identity/v2/pubkey/%zz',
      '/_matrix/identity/v2/pubkey/%',
      '/_matrix/identity/v2/pubkey/%ff%fe',
      '/_matrix/identity/api/v1/pubkey/ed25519%3',
      '/_matrix/identity/v2/%zz/isvalid',
      '/_matrix/%E0%A4%A',
      '/%zz',
    ];
    const before = lines.length;
    for (const path of paths) {
      const { status, body, res } = await get(path);
      assert.equal(status, 400, path);
      assert.equal(body?.errcode, 'M_UNRECOGNIZED', path);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    }
    const logged = lines.slice(before).filter(notAccessLog);
    assert.deepEqual(
      logged.filter((line) => line.level !== 'debug'),
      [],
      'nothing above debug',
    );
    assert.doesNotMatch(JSON.stringify(logged), /stack/);
  });

  it('still decodes a well-formed percent-encoded path', async () => {
    const { status, body } = await get('/_matrix/identity/v2/pubkey/ed25519%3A0');
    assert.deepEqual([status, body], [200, { public_key: PUBLIC_KEY }]);
  });

  it('answers a known path with a wrong method with 405 M_UNRECOGNIZED', async () => {
    const { status, body } = await get('/_matrix/identity/v2/pubkey/ed25519:0', { method: 'POST', body: '{}' });
    assert.equal(status, 405);
    assert.equal(body?.errcode, 'M_UNRECOGNIZED');
    assert.equal((await get('/_matrix/identity/versions', { method: 'DELETE' })).status, 405);
  });

  it('answers preflights and puts CORS headers on every response, errors included', async () => {
    const preflight = await get('/_matrix/identity/v2/pubkey/ed25519:0', { method: 'OPTIONS' });
    assert.equal(preflight.status, 200);
    for (const { res } of [preflight, await get('/nowhere'), await get('/_matrix/identity/v2')]) {
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, DELETE, OPTIONS');
      assert.equal(
        res.headers.get('access-control-allow-headers'),
        'Origin, X-Requested-With, Content-Type, Accept, Authorization, X-Request-Id',
      );
      assert.equal(res.headers.get('access-control-expose-headers'), 'X-Request-Id');
    }
  });
});

describe('gateway request ids', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('names every answer, errors included, with a fresh X-Request-Id', async () => {
    const ids = [];
    for (const path of ['/_matrix/identity/v2', '/nowhere', '/_matrix/identity/v2/pubkey/ed25519:0']) {
      const { res } = await get(path);
      ids.push(res.headers.get('x-request-id'));
    }
    for (const id of ids) assert.match(String(id), UUID);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("keeps the caller's X-Request-Id and makes it the correlation id of the backend calls", async () => {
    const { res } = await get(`/_matrix/identity/v2/pubkey/${NOT_YET_ANNOUNCED}`, {
      headers: { 'X-Request-Id': 'proxy-7f3a:1' },
    });
    assert.equal(res.headers.get('x-request-id'), 'proxy-7f3a:1');
    assert.equal(backendSawCorrelationId, 'proxy-7f3a:1');
  });

  it('keeps the correlation id past the reading of a request body', async () => {
    const { res, body } = await get('/_matrix/identity/v2/correlation', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Request-Id': 'req-with-body' },
      body: JSON.stringify({ padding: 'x'.repeat(40_000) }),
    });
    assert.equal(res.headers.get('x-request-id'), 'req-with-body');
    assert.equal(body?.correlationId, 'req-with-body');
  });

  it('replaces an X-Request-Id that could carry an address, or that does not fit in a header', async () => {
    for (const sent of ['alice@example.org', '447700900123', '+447700900123', 'a b', 'x'.repeat(129)]) {
      const { res } = await get('/_matrix/identity/v2', { headers: { 'X-Request-Id': sent } });
      assert.match(String(res.headers.get('x-request-id')), UUID, sent);
    }
  });

  it('logs one line per request with its id, route pattern and status, never the query as sent', async () => {
    const { res } = await get('/_matrix/identity/v2/pubkey/isvalid?public_key=secret-looking-value');
    const id = res.headers.get('x-request-id');
    // Written once the answer has left, which may be just after the client has it.
    let line = lines.find((entry) => entry.msg === 'request' && entry.correlationId === id);
    for (let turn = 0; line === undefined && turn < 100; turn++) {
      await new Promise((ok) => setTimeout(ok, 10));
      line = lines.find((entry) => entry.msg === 'request' && entry.correlationId === id);
    }
    assert.ok(line, 'an access log line with the request id');
    assert.equal(line.route, '/v2/pubkey/isvalid');
    assert.equal(line.status, 200);
    assert.equal(line.method, 'GET');
    assert.doesNotMatch(JSON.stringify(line), /secret-looking-value/);
  });
});

describe('gateway pubkey routes', () => {
  it('answers a key on both trees', async () => {
    for (const tree of ['v2', 'api/v1']) {
      const { status, body } = await get(`/_matrix/identity/${tree}/pubkey/ed25519:0`);
      assert.equal(status, 200);
      assert.deepEqual(body, { public_key: PUBLIC_KEY });
    }
  });

  it('answers a key signing holds but has not announced yet, asking signing', async () => {
    const { status, body } = await get(`/_matrix/identity/v2/pubkey/${NOT_YET_ANNOUNCED}`);
    assert.equal(status, 200);
    assert.deepEqual(body, { public_key: PUBLIC_KEY });
  });

  it('answers a revoked key id with 404, whatever signing still says', async () => {
    for (const tree of ['v2', 'api/v1']) {
      const { status, body } = await get(`/_matrix/identity/${tree}/pubkey/ed25519:1`);
      assert.equal(status, 404);
      assert.equal(body?.errcode, 'M_NOT_FOUND');
    }
  });

  it('answers an unknown or malformed key id with 404 M_NOT_FOUND', async () => {
    for (const keyId of ['ed25519:9', 'not a key', 'ed25519%3A0%2F..', `ed25519:${'x'.repeat(300)}`]) {
      const { status, body } = await get(`/_matrix/identity/v2/pubkey/${encodeURIComponent(keyId)}`);
      assert.equal(status, 404, keyId);
      assert.equal(body?.errcode, 'M_NOT_FOUND');
    }
  });

  it('tells whether a public key is valid, on both trees', async () => {
    for (const tree of ['v2', 'api/v1']) {
      const valid = await get(`/_matrix/identity/${tree}/pubkey/isvalid?public_key=${PUBLIC_KEY}`);
      assert.deepEqual(valid.body, { valid: true });
      const padded = await get(
        `/_matrix/identity/${tree}/pubkey/isvalid?public_key=${encodeURIComponent(`${PUBLIC_KEY}=`)}`,
      );
      assert.deepEqual(padded.body, { valid: true }, 'the same key, padded');
      for (const other of ['AAAA', REVOKED_KEY, 'not base64!']) {
        const invalid = await get(`/_matrix/identity/${tree}/pubkey/isvalid?public_key=${encodeURIComponent(other)}`);
        assert.deepEqual(invalid.body, { valid: false }, other);
      }
    }
  });

  it('asks for a missing public_key with 400 M_MISSING_PARAMS', async () => {
    const { status, body } = await get('/_matrix/identity/v2/pubkey/isvalid');
    assert.equal(status, 400);
    assert.equal(body?.errcode, 'M_MISSING_PARAMS');
  });

  it('refuses a repeated public_key with 400 M_INVALID_PARAM', async () => {
    const { status, body } = await get('/_matrix/identity/v2/pubkey/isvalid?public_key=a&public_key=b');
    assert.equal(status, 400);
    assert.equal(body?.errcode, 'M_INVALID_PARAM');
  });

  it('answers a key it must ask signing about with 503 while signing is down, logging it once without a stack; known keys still answer', async () => {
    signingDown = true;
    const before = lines.length;
    try {
      for (let i = 0; i < 5; i++) {
        const { status, body } = await get(`/_matrix/identity/v2/pubkey/${NOT_YET_ANNOUNCED}`);
        assert.equal(status, 503);
        assert.equal(body?.errcode, 'M_UNKNOWN');
      }
      const known = await get('/_matrix/identity/v2/pubkey/ed25519:0');
      assert.equal(known.status, 200);
    } finally {
      signingDown = false;
    }
    const logged = lines.slice(before).filter(notAccessLog);
    assert.deepEqual(
      logged.map((line) => [line.level, line.msg]),
      [['warn', 'backend call failed']],
    );
    assert.doesNotMatch(JSON.stringify(logged), /stack/);
  });
});

/** Sends a raw request and reads the whole answer; a reset connection rejects. */
function rawPost(path: string, chunks: Buffer[], headers: Record<string, string | number>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('gateway request bodies', () => {
  const echo = '/_matrix/identity/v2/echo';

  it('reads a JSON object body', async () => {
    const { status, body } = await get(echo, { method: 'POST', body: '{"a":1}' });
    assert.equal(status, 200);
    assert.deepEqual(body, { a: 1 });
  });

  it('answers malformed JSON with 400 M_NOT_JSON', async () => {
    const { status, body } = await get(echo, {
      method: 'POST',
      body: '{"a":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(status, 400);
    assert.equal(body?.errcode, 'M_NOT_JSON');
  });

  it('answers JSON that is not an object with 400 M_BAD_JSON', async () => {
    for (const text of ['[1,2]', '"text"', 'null', '3']) {
      const { status, body } = await get(echo, { method: 'POST', body: text });
      assert.equal(status, 400, text);
      assert.equal(body?.errcode, 'M_BAD_JSON', text);
    }
  });

  it('answers a body over the limit with 413 M_TOO_LARGE instead of resetting the connection', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const declared = await rawPost(echo, [big], { 'content-type': 'application/json', 'content-length': big.length });
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).errcode, 'M_TOO_LARGE');

    const pieces = Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 0x20));
    const chunked = await rawPost(echo, pieces, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.body).errcode, 'M_TOO_LARGE');
  });
});

/** The access log line of the request answered with this X-Request-Id, once written (just after the answer left). */
async function accessLineOf(res: Response): Promise<Record<string, unknown>> {
  const id = res.headers.get('x-request-id');
  for (;;) {
    const line = lines.find((entry) => entry.msg === 'request' && entry.correlationId === id);
    if (line !== undefined) return line;
    await new Promise((ok) => setImmediate(ok));
  }
}

/** The count of tessera_http_requests_total with exactly these labels (0 when never counted). */
async function requestCount(labels: { method: string; route: string; status: string }): Promise<number> {
  const metric = await registry.getSingleMetric('tessera_http_requests_total')?.get();
  const value = metric?.values.find(
    (entry) =>
      entry.labels.method === labels.method &&
      entry.labels.route === labels.route &&
      entry.labels.status === labels.status,
  );
  return value?.value ?? 0;
}

// The hot routes are served on the lean path (lean-path.ts); a trailing slash is left to Express,
// which serves the same route: the two answers and what they leave behind must not differ.
describe('the lean path and Express, serving the same route', () => {
  const HEADERS = [
    'content-type',
    'content-length',
    'access-control-allow-origin',
    'access-control-allow-methods',
    'access-control-allow-headers',
    'access-control-expose-headers',
  ];
  const cases = [
    '/_matrix/identity/v2/pubkey/ed25519:0',
    '/_matrix/identity/api/v1/pubkey/ed25519:9',
    `/_matrix/identity/v2/pubkey/isvalid?public_key=${PUBLIC_KEY}`,
    '/_matrix/identity/v2/pubkey/isvalid',
    '/_matrix/identity/v2/pubkey/isvalid?public_key=a&public_key=b',
    '/_matrix/identity/v2',
    '/_matrix/identity/api/v1',
    '/_matrix/identity/versions',
  ];

  it('answers alike: status, body, headers, the access log line and the metrics label', async () => {
    for (const [index, lean] of cases.entries()) {
      const [path, query] = lean.split('?');
      const viaExpress = `${path}/${query === undefined ? '' : `?${query}`}`;
      const a = await get(lean, { headers: { 'X-Request-Id': `lean-${index}` } });
      const b = await get(viaExpress, { headers: { 'X-Request-Id': `express-${index}` } });
      assert.equal(a.status, b.status, lean);
      assert.deepEqual(a.body, b.body, lean);
      for (const header of HEADERS)
        assert.equal(a.res.headers.get(header), b.res.headers.get(header), `${lean} ${header}`);
      assert.equal(a.res.headers.get('x-request-id'), `lean-${index}`);
      assert.equal(b.res.headers.get('x-request-id'), `express-${index}`);
      const [lineA, lineB] = [await accessLineOf(a.res), await accessLineOf(b.res)];
      for (const field of ['method', 'route', 'status', 'level', 'service'])
        assert.equal(lineA[field], lineB[field], `${lean} access log ${field}`);
    }
  });

  it('counts a request served on the lean path under its route pattern and status', async () => {
    const labels = { method: 'GET', route: '/v2/pubkey/:keyId', status: '404' };
    const before = await requestCount(labels);
    const { status } = await get('/_matrix/identity/v2/pubkey/ed25519:9');
    assert.equal(status, 404);
    // Counted once the answer has left, which may be just after the client has it.
    while ((await requestCount(labels)) === before) await new Promise((ok) => setImmediate(ok));
    assert.equal(await requestCount(labels), before + 1);
  });

  it('answers the preflight, the 405 and the 404 of a hot path (Express serves them) with CORS headers and a request id', async () => {
    const preflight = await get('/_matrix/identity/v2/pubkey/isvalid', { method: 'OPTIONS' });
    assert.deepEqual([preflight.status, preflight.body], [200, {}]);
    const wrongMethod = await get('/_matrix/identity/api/v1/pubkey/isvalid', { method: 'POST', body: '{}' });
    assert.deepEqual([wrongMethod.status, wrongMethod.body?.errcode], [405, 'M_UNRECOGNIZED']);
    const unknown = await get('/_matrix/identity/v2/pubkey/ed25519:0/extra');
    assert.deepEqual([unknown.status, unknown.body?.errcode], [404, 'M_UNRECOGNIZED']);
    for (const { res } of [preflight, wrongMethod, unknown]) {
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(res.headers.get('x-request-id'));
    }
  });

  it('refuses an HTTP/1.1 request without Host on a hot path with 400 M_UNRECOGNIZED', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.end('GET /_matrix/identity/v2/pubkey/ed25519:0 HTTP/1.1\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /access-control-allow-origin: \*/i);
    assert.match(answer, /"errcode":"M_UNRECOGNIZED"/);
  });
});

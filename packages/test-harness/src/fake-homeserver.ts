import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson } from '@tessera/canonical-json';
import { localhostTls } from './localhost-tls.js';
import { Recorder } from './recorder.js';

export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Every Authorization header in order; `headers` keeps only the first of repeated ones. */
  authorization: string[];
  /** Parsed JSON if the body was JSON, else the text; undefined for an empty body. */
  body: unknown;
}

export interface OnbindCall {
  method: 'POST' | 'PUT';
  body: unknown;
  /** What the fake answered: 200, the status of a failure set up with failOnbind(), or 0 for a call held open (holdOnbind()). */
  status: number;
}

/** How GET /_matrix/key/v2/server answers; {} is the default: valid, self-signed, for a day. */
export interface KeyServerSetup {
  /** Default: a day after each request. */
  validUntilTs?: number;
  /** The server_name written in the reply; default the fake's own. */
  serverName?: string;
  /** Retired keys, listed in old_verify_keys with their expiry. */
  oldVerifyKeys?: Record<string, { key: string; expired_ts: number }>;
  /** 'forged': signed by another key under the fake's key id; 'none': no signatures. Default 'valid'. */
  selfSignature?: 'valid' | 'forged' | 'none';
  /** Answer this status with a Matrix error instead of the keys. */
  status?: number;
}

/** A request to sign as Synapse signs its requests to identity servers (`POST /3pid/unbind`). */
export interface RequestToSign {
  method: string;
  /** The path and query the request is sent to, e.g. `/_matrix/identity/v2/3pid/unbind`. */
  uri: string;
  /** The identity server's name as the homeserver knows it (`id_server`). */
  destinationIs: string;
  content?: unknown;
  /** Default: the fake's key id. */
  keyId?: string;
  /** Default: the fake's private key; another key forges the signature. */
  privateKey?: KeyObject;
}

export interface SignedPost extends Omit<RequestToSign, 'method' | 'uri'> {
  /** http or https URL of the identity server endpoint. */
  url: string;
  /** A CA to trust for an https URL. */
  ca?: string;
  /** Replaces the Authorization headers the fake would send. */
  authorization?: string[];
}

export interface FakeHomeserverOptions {
  /** Default 'localhost:<port>'. */
  serverName?: string;
  /** Listen on this port (a homeserver whose name, and so its users' IDs, names the port); default: a free one. */
  port?: number;
  /** Answer the first `times` onbind calls with `status` before answering 200. */
  onbindFailures?: { status: number; times: number };
}

export interface FakeHomeserver {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  /** The CA that signed the server's certificate (for localhost and 127.0.0.1): trust it to connect. */
  readonly caPem: string;
  /** The key served at /_matrix/key/v2/server, id 'ed25519:a'. */
  readonly verifyKey: { keyId: string; publicKeyBase64: string; privateKey: KeyObject };
  /** Every request, oldest first. */
  readonly requests: RecordedRequest[];
  /** Every onbind call (POST or PUT /_matrix/federation/v1/3pid/onbind), failed ones included. */
  readonly onbindCalls: OnbindCall[];
  /** Makes GET /_matrix/federation/v1/openid/userinfo?access_token=<token> answer {sub: userId}. */
  addOpenIdToken(token: string, userId: string): void;
  /** The body of GET /.well-known/matrix/server; null answers 404 (the default). */
  setWellKnown(body: object | null): void;
  /** Answers the next `times` onbind calls with `status`. */
  failOnbind(status: number, times: number): void;
  /**
   * Holds the next `times` onbind calls open without answering (recorded with status 0) until the
   * caller gives up or goes away, as a homeserver that hangs does. Before failOnbind's failures.
   */
  holdOnbind(times: number): void;
  /**
   * How onbind calls answered 200 are answered from now on: after `delayMs`, and with a body
   * padded to over `bodyBytes` bytes (as a slow Synapse, or one with a chatty reply). {} restores
   * the default: at once, `{}`.
   */
  shapeOnbindSuccess(shape: { delayMs?: number; bodyBytes?: number }): void;
  /** How the key server answers from now on ({} restores the default). */
  setKeyServer(setup: KeyServerSetup): void;
  /**
   * The Authorization headers Synapse sends with an identity server request: it signs
   * `{method, uri, origin, destination_is, content}` and writes, per key,
   * `X-Matrix origin="…",key="…",sig="…",destination="…"` (synapse/http/matrixfederationclient.py).
   */
  signRequest(request: RequestToSign): string[];
  /** POSTs `content` signed as signRequest does, as Synapse's unbind does; answers status and parsed body. */
  postSigned(post: SignedPost): Promise<{ status: number; body: unknown }>;
  waitForOnbind(predicate?: (call: OnbindCall) => boolean, timeoutMs?: number): Promise<OnbindCall>;
  waitForRequest(predicate?: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const KEY_ID = 'ed25519:a';
const DAY_MS = 86_400_000;

/** A status and body to answer (after `delayMs`), or null to answer nothing and keep the request open. */
type Route = (request: RecordedRequest) => { status: number; body: unknown; delayMs?: number } | null;

/** An HTTPS server on 127.0.0.1 (a free port) that plays the parts of a homeserver Tessera talks to. */
export async function startFakeHomeserver(options: FakeHomeserverOptions = {}): Promise<FakeHomeserver> {
  const tls = await localhostTls('Tessera fake homeserver CA');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyBase64 = unpaddedBase64(Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url'));
  const requests = new Recorder<RecordedRequest>('request');
  const onbindCalls = new Recorder<OnbindCall>('onbind call');
  const openIdTokens = new Map<string, string>();
  let wellKnown: object | null = null;
  let failures = options.onbindFailures ? { ...options.onbindFailures } : { status: 200, times: 0 };
  let holds = 0;
  let successShape: { delayMs?: number; bodyBytes?: number } = {};
  let serverName = options.serverName ?? '';
  let keyServer: KeyServerSetup = {};
  const signWith = (key: KeyObject, content: unknown) =>
    unpaddedBase64(sign(null, Buffer.from(canonicalJson(content)), key));

  const serverKeys: Route = () => {
    const { status, validUntilTs, oldVerifyKeys = {}, selfSignature = 'valid' } = keyServer;
    if (status !== undefined) return { status, body: matrixError('M_UNKNOWN', 'key server failure (test)') };
    const name = keyServer.serverName ?? serverName;
    const body = {
      server_name: name,
      verify_keys: { [KEY_ID]: { key: publicKeyBase64 } },
      old_verify_keys: oldVerifyKeys,
      valid_until_ts: validUntilTs ?? Date.now() + DAY_MS,
    };
    if (selfSignature === 'none') return { status: 200, body };
    const key = selfSignature === 'valid' ? privateKey : generateKeyPairSync('ed25519').privateKey;
    return { status: 200, body: { ...body, signatures: { [name]: { [KEY_ID]: signWith(key, body) } } } };
  };
  const signRequest = (request: RequestToSign): string[] => {
    const { method, uri, destinationIs, content, keyId = KEY_ID } = request;
    const signed = {
      method,
      uri,
      origin: serverName,
      destination_is: destinationIs,
      ...(content === undefined ? {} : { content }),
    };
    const sig = signWith(request.privateKey ?? privateKey, signed);
    return [`X-Matrix origin="${serverName}",key="${keyId}",sig="${sig}",destination="${destinationIs}"`];
  };

  const onbind: Route = ({ method, body }) => {
    if (holds > 0) {
      holds--;
      onbindCalls.add({ method: method as OnbindCall['method'], body, status: 0 });
      return null;
    }
    let status = 200;
    if (failures.times > 0) {
      failures.times--;
      status = failures.status;
    }
    onbindCalls.add({ method: method as OnbindCall['method'], body, status });
    if (status !== 200) return { status, body: matrixError('M_UNKNOWN', 'onbind failure (test)') };
    const { delayMs = 0, bodyBytes = 0 } = successShape;
    return { status, body: bodyBytes > 0 ? { padding: 'x'.repeat(bodyBytes) } : {}, delayMs };
  };
  const routes: Record<string, Route> = {
    'GET /_matrix/federation/v1/openid/userinfo': ({ query }) => {
      const sub = openIdTokens.get(query.get('access_token') ?? '');
      return sub === undefined
        ? { status: 401, body: matrixError('M_UNKNOWN_TOKEN', 'Access Token unknown or expired') }
        : { status: 200, body: { sub } };
    },
    'GET /_matrix/key/v2/server': serverKeys,
    'POST /_matrix/federation/v1/3pid/onbind': onbind,
    'PUT /_matrix/federation/v1/3pid/onbind': onbind,
    'GET /.well-known/matrix/server': () =>
      wellKnown === null
        ? { status: 404, body: matrixError('M_NOT_FOUND', 'no .well-known') }
        : { status: 200, body: wellKnown },
  };

  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, matrixError('M_UNKNOWN', String(err)));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `https://${HOST}`);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      authorization: req.headersDistinct.authorization ?? [],
      body: parseBody(await readBody(req)),
    };
    requests.add(request);
    const route = routes[`${request.method} ${request.path}`];
    const answer = route
      ? route(request)
      : { status: 404, body: matrixError('M_UNRECOGNIZED', 'Unrecognized request') };
    if (answer === null) return;
    if (answer.delayMs) await sleep(answer.delayMs);
    send(res, answer.status, answer.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverName ||= `localhost:${port}`;

  return {
    url: `https://${HOST}:${port}`,
    port,
    serverName,
    caPem: tls.caPem,
    verifyKey: { keyId: KEY_ID, publicKeyBase64, privateKey },
    requests: requests.items,
    onbindCalls: onbindCalls.items,
    addOpenIdToken: (token, userId) => openIdTokens.set(token, userId),
    setWellKnown: (body) => {
      wellKnown = body;
    },
    failOnbind: (status, times) => {
      failures = { status, times };
    },
    holdOnbind: (times) => {
      holds = times;
    },
    shapeOnbindSuccess: (shape) => {
      successShape = { ...shape };
    },
    setKeyServer: (setup) => {
      keyServer = { ...setup };
    },
    signRequest,
    postSigned: (post) => {
      const url = new URL(post.url);
      const content = post.content ?? {};
      const authorization =
        post.authorization ?? signRequest({ ...post, content, method: 'POST', uri: `${url.pathname}${url.search}` });
      return postJson(url, content, authorization, post.ca);
    },
    waitForOnbind: (predicate, timeoutMs) => onbindCalls.waitFor(predicate, timeoutMs),
    waitForRequest: (predicate, timeoutMs) => requests.waitFor(predicate, timeoutMs),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // keep-alive clients would otherwise hold close() open
      }),
  };
}

/** One POST with a JSON body and one Authorization header per entry, as a homeserver sends it. */
function postJson(url: URL, content: unknown, authorization: string[], ca: string | undefined) {
  const payload = JSON.stringify(content);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, body: parseBody(text) }), reject);
      },
    );
    req.setHeader('authorization', authorization); // an array sends the header once per entry
    req.on('error', reject);
    req.end(payload);
  });
}

function matrixError(errcode: string, error: string) {
  return { errcode, error };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Matrix writes keys and signatures in standard base64 without padding. */
function unpaddedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

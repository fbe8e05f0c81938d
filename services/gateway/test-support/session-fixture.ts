// An app with the session routes over a real HTTP server and a session port faked in memory, for
// the route tests: the gateway's own behaviour is under test; the real session service behind
// real gRPC is covered by the end-to-end suite.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { TesseraError, toServiceError } from '@tessera/errors';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import type { RateLimit, RateLimitDecision, RateLimiter } from '@tessera/rate-limit';
import { createLogger } from '@tessera/service-kit';
import { createTemplates, SHIPPED_BRAND } from '@tessera/templates';
import { Registry } from 'prom-client';
import { createApp } from '../src/app.js';
import { clientIpResolver } from '../src/client-ip.js';
import { listen } from '../src/http-server.js';
import { sessionCallers } from '../src/known-users.js';
import { type RateLimits, rateLimitGate } from '../src/request-limits.js';
import type { Route } from '../src/routes/route.js';
import type { SessionPort } from '../src/routes/session-deps.js';
import { sessionRoutes } from '../src/routes/session-routes.js';
import type { VerifyPages } from '../src/verify-page.js';

/** What a grpc-js client rejects with when the server answered with this error. */
export function asReceived(err: unknown): ServiceError {
  const sent = toServiceError(err);
  return Object.assign(new Error(sent.details), {
    code: sent.code ?? status.UNKNOWN,
    details: sent.details ?? '',
    metadata: sent.metadata ?? new Metadata(),
  });
}

export const unavailable = (): ServiceError =>
  Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: status.UNAVAILABLE,
    details: 'No connection established',
    metadata: new Metadata(),
  });

export const ALICE_TOKEN = 'alice-token'; // terms accepted
export const BOB_TOKEN = 'bob-token'; // terms not accepted
const USERS: Record<string, { userId: string; termsAccepted: boolean }> = {
  [ALICE_TOKEN]: { userId: '@alice:example.org', termsAccepted: true },
  [BOB_TOKEN]: { userId: '@bob:example.org', termsAccepted: false },
};
export const POLICIES = {
  privacy_policy: { version: '1.0', en: { name: 'Privacy Policy', url: 'https://example.org/privacy-1.0-en.html' } },
};

type Method = Exclude<keyof SessionPort, 'close'>;
type Handler = (request: Record<string, unknown>) => Promise<unknown>;
export interface SessionCall {
  method: Method;
  request: Record<string, unknown>;
  deadlineMs: number | undefined;
}

const DEFAULTS: Record<Method, Handler> = {
  authenticate: async ({ token }) => {
    const user = USERS[String(token)];
    if (user === undefined) throw asReceived(new TesseraError('M_UNAUTHORIZED', 'unrecognised access token'));
    return user;
  },
  requestToken: async () => ({ sid: 'sid-1' }),
  submitToken: async () => ({ success: true, nextLink: '' }),
  getValidated3Pid: async () => ({
    medium: Medium.MEDIUM_EMAIL,
    address: 'alice@example.org',
    validatedAt: 1_700_000_000_000,
    clientLowercaseAddress: '',
  }),
  registerAccount: async () => ({ token: 'new-token' }),
  logout: async ({ token }) => {
    if (USERS[String(token)] === undefined)
      throw asReceived(new TesseraError('M_UNKNOWN_TOKEN', 'unrecognised access token'));
    return {};
  },
  getTerms: async () => ({ policiesJson: JSON.stringify(POLICIES) }),
  acceptTerms: async () => ({}),
};

/** A session port that records every call; `script` replaces one method's answer until reset(). */
export function fakeSession() {
  const calls: SessionCall[] = [];
  const script: Partial<Record<Method, Handler>> = {};
  const port: Record<string, unknown> = { close: () => {} };
  for (const method of Object.keys(DEFAULTS) as Method[]) {
    port[method] = (request: Record<string, unknown>, options?: { deadlineMs?: number }) => {
      calls.push({ method, request, deadlineMs: options?.deadlineMs });
      return (script[method] ?? DEFAULTS[method])(request);
    };
  }
  return {
    port: port as unknown as SessionPort,
    calls,
    script,
    /** The calls of one method, oldest first. */
    callsOf: (method: Method) => calls.filter((call) => call.method === method),
    reset() {
      calls.length = 0;
      for (const method of Object.keys(script) as Method[]) delete script[method];
    },
  };
}
export type FakeSession = ReturnType<typeof fakeSession>;

/** Counts in memory, per scope and subject; the shared NATS-backed one is tested in @tessera/rate-limit. */
export function memoryLimiter() {
  const counts = new Map<string, number>();
  const consumed: { scope: string; subject: string }[] = [];
  const limiter: RateLimiter = {
    async consume(scope: string, subject: string, { count }: RateLimit): Promise<RateLimitDecision> {
      consumed.push({ scope, subject });
      const key = `${scope} ${subject}`;
      const used = counts.get(key) ?? 0;
      if (used >= count) return { allowed: false, retryAfterMs: 42_500 };
      counts.set(key, used + 1);
      return { allowed: true };
    },
  };
  return {
    limiter,
    consumed,
    reset() {
      counts.clear();
      consumed.length = 0;
    },
  };
}

export const TEST_LIMITS: RateLimits = {
  ip: { count: 100, windowMs: 60_000 },
  user: { count: 100, windowMs: 60_000 },
  msisdn: { count: 2, windowMs: 60_000 },
  country: { count: 100, windowMs: 60_000 },
  sender: { count: 2, windowMs: 60_000 },
};
export const REQUEST_TOKEN_DEADLINE_MS = 12_345;

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON. */
  body: Record<string, unknown> | undefined;
}

export interface CallInit {
  method?: string;
  json?: unknown;
  form?: string;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
}

export interface SessionAppOptions {
  trustedProxies?: string[];
  pages?: VerifyPages;
}

/** The session routes on a real HTTP server on a free port. */
export async function startSessionApp(options: SessionAppOptions = {}) {
  const session = fakeSession();
  const limits = memoryLimiter();
  const log = createLogger('gateway-test', 'silent');
  const routes = sessionRoutes({
    session: session.port,
    ...sessionCallers(session.port),
    clientIpOf: clientIpResolver(options.trustedProxies ?? []),
    gate: rateLimitGate(limits.limiter, TEST_LIMITS, log),
    requestTokenDeadlineMs: REQUEST_TOKEN_DEADLINE_MS,
    pages: options.pages ?? createTemplates({ defaultBrand: SHIPPED_BRAND }),
    log,
  });
  return { ...(await serveRoutes(routes)), session, limits };
}
export type SessionApp = Awaited<ReturnType<typeof startSessionApp>>;

/** The gateway's app with `routes` on a real HTTP server on a free port, and a client for it. */
export async function serveRoutes(routes: Route[]) {
  const log = createLogger('gateway-test', 'silent');
  const app = createApp({ routes, maxBodyBytes: 64 * 1024, log, registry: new Registry() });
  const server = await listen(app, '127.0.0.1', 0, log);
  const base = `http://127.0.0.1:${server.port}/_matrix/identity`;
  return {
    base,
    close: () => server.close(),
    /** One request; `json` and `form` set the body and its type, `token` a Bearer header. */
    async call(path: string, init: CallInit = {}): Promise<TestResponse> {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | undefined;
      if (init.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(init.json);
      } else if (init.form !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = init.form;
      }
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      const method = init.method ?? (body === undefined ? 'GET' : 'POST');
      const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
      const text = await res.text();
      const json = res.headers.get('content-type')?.startsWith('application/json')
        ? (JSON.parse(text) as Record<string, unknown>)
        : undefined;
      return { status: res.status, headers: res.headers, text, body: json };
    },
  };
}

/** A templates directory with two brands whose pages say which brand they are. */
export async function twoBrandTemplates(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-gateway-brands-'));
  for (const brand of ['alpha', 'beta']) {
    await mkdir(join(dir, brand));
    await writeFile(join(dir, brand, 'verify_response_template.html'), `<p>${brand}: {{ message }}</p>\n`);
    await writeFile(join(dir, brand, 'verification_template.eml.j2'), 'Subject: code\n\n{{ token }}\n');
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

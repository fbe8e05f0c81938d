import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { TesseraError } from '@tessera/errors';
import { EventStore, newEvent, subjectOf } from '@tessera/event-store';
import {
  authorizationConfig,
  connectAs,
  ensureIdentityFiles,
  identityFileOf,
  natsAccessOf,
  provision,
} from '@tessera/nats-access';
import { createLogger } from '@tessera/service-kit';
import { connectAsIdentity, startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import type { CheckToken, TokenCheck } from './auth.js';
import { type TokenChecks, type TokenChecksOptions, watchTokenChecks } from './token-checks.js';

const log = createLogger('token-checks-test', 'silent');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

describe("the gateway's token-check cache, on a real nats-server as the gateway identity", () => {
  let dir: string;
  let nats: TestNats;
  let session: NatsConnection; // appends as the session service does
  let gateway: NatsConnection;
  let store: EventStore;
  const watching: TokenChecks[] = [];

  /** What session answers now, per token; a token it does not know is refused. */
  const accounts = new Map<string, TokenCheck>();
  let sessionCalls: string[] = [];
  const askSession: CheckToken = async (token) => {
    sessionCalls.push(token);
    const account = accounts.get(token);
    if (account === undefined) throw new TesseraError('M_UNAUTHORIZED', 'unrecognised access token');
    return { ...account };
  };

  async function cache(options: Partial<TokenChecksOptions> = {}): Promise<CheckToken> {
    const checks = await watchTokenChecks(gateway, { log, ...options });
    watching.push(checks);
    return checks.cached(askSession);
  }

  // The events session appends, on the subjects it appends them to.
  const logout = (token: string) =>
    store.append(
      subjectOf('account', sha256(token)),
      [newEvent({ $case: 'accountLoggedOut', value: {} }, new Date())],
      {
        expectedSeq: 0,
      },
    );
  let termsAcceptances = 0;
  const acceptTerms = () =>
    store.append(
      subjectOf('terms', `user-key-${++termsAcceptances}`),
      [
        newEvent(
          { $case: 'termsAccepted', value: { userId: '', userKey: 'k', urls: ['https://example.org/p'] } },
          new Date(),
        ),
      ],
      { expectedSeq: 0 },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-token-checks-'));
    const identities = await ensureIdentityFiles(dir);
    nats = await startNats({ extraConfig: authorizationConfig(identities) });
    const admin = await connectAsIdentity(nats.url, 'admin', identityFileOf(dir, 'admin'));
    await provision(admin, { replicas: 1, longestRateLimitWindowMs: 3_600_000 });
    await admin.close();
    session = await connectAsIdentity(nats.url, 'session', identityFileOf(dir, 'session'));
    store = new EventStore(session);
    const config = loadConfig({
      TESSERA_NATS_URL: nats.url,
      TESSERA_NATS_CREDENTIALS_FILE: identityFileOf(dir, 'gateway'),
    });
    gateway = await connectAs(natsAccessOf(config, 'gateway'), log);
  });
  after(async () => {
    for (const checks of watching) checks.close();
    await gateway?.close();
    await session?.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    accounts.clear();
    sessionCalls = [];
  });

  it('asks session once per token, then answers from the cache', async () => {
    const check = await cache();
    accounts.set('token-1', { userId: '@alice:example.org', termsAccepted: true });
    assert.deepEqual(await check('token-1'), { userId: '@alice:example.org', termsAccepted: true });
    const again = await Promise.all([check('token-1'), check('token-1'), check('token-1')]);
    assert.deepEqual(again, Array(3).fill({ userId: '@alice:example.org', termsAccepted: true }));
    assert.deepEqual(sessionCalls, ['token-1']);
  });

  it('keeps no refusal: an unknown token asks session every time', async () => {
    const check = await cache();
    for (let i = 0; i < 2; i++) await assert.rejects(check('stranger'), { errcode: 'M_UNAUTHORIZED' });
    assert.deepEqual(sessionCalls, ['stranger', 'stranger']);
  });

  it('sees a logout that session has appended before it answers the next check: that token asks session again, others do not', async () => {
    const check = await cache();
    accounts.set('leaving', { userId: '@alice:example.org', termsAccepted: true });
    accounts.set('staying', { userId: '@bob:example.org', termsAccepted: true });
    await check('leaving');
    await check('staying');
    for (let round = 0; round < 5; round++) {
      const token = `leaving-${round}`;
      accounts.set(token, { userId: '@carol:example.org', termsAccepted: true });
      await check(token);
      // Session logs the token out: it forgets it, then appends, then answers. No wait follows.
      accounts.delete(token);
      await logout(token);
      await assert.rejects(check(token), { errcode: 'M_UNAUTHORIZED' }, `round ${round}`);
    }
    sessionCalls = [];
    await check('staying');
    await check('leaving');
    assert.deepEqual(sessionCalls, [], 'the other accounts are still answered from the cache');
  });

  it('drops every answer on any terms event', async () => {
    const check = await cache();
    accounts.set('a', { userId: '@alice:example.org', termsAccepted: false });
    accounts.set('b', { userId: '@bob:example.org', termsAccepted: false });
    await check('a');
    await check('b');
    accounts.set('a', { userId: '@alice:example.org', termsAccepted: true });
    await acceptTerms();
    assert.deepEqual(await check('a'), { userId: '@alice:example.org', termsAccepted: true });
    await check('b');
    assert.deepEqual(sessionCalls, ['a', 'b', 'a', 'b']);
  });

  it('does not keep an answer read before an event that arrived while session was asked', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowCheck = await watchTokenChecks(gateway, { log }).then((checks) => {
      watching.push(checks);
      return checks.cached(async (token) => {
        const answer = await askSession(token);
        await held;
        return answer;
      });
    });
    accounts.set('racing', { userId: '@alice:example.org', termsAccepted: true });
    const inFlight = slowCheck('racing');
    await acceptTerms(); // any event drops what the cache knows, and what it is reading now
    await gateway.flush(); // the event has reached the gateway's connection
    release();
    await inFlight;
    sessionCalls = [];
    await slowCheck('racing');
    assert.deepEqual(sessionCalls, ['racing'], 'the answer read across the event was not kept');
  });

  it('forgets answers older than maxAgeMs, and the least recently used beyond maxEntries', async () => {
    let now = 1_000_000;
    const check = await cache({ maxAgeMs: 60_000, maxEntries: 2, now: () => now });
    for (const token of ['a', 'b', 'c']) accounts.set(token, { userId: `@${token}:example.org`, termsAccepted: true });
    await check('a');
    await check('b');
    await check('a'); // a is now the most recently used
    await check('c'); // b goes
    sessionCalls = [];
    await check('a');
    await check('c');
    await check('b');
    assert.deepEqual(sessionCalls, ['b']);
    now += 60_000;
    sessionCalls = [];
    await check('c');
    assert.deepEqual(sessionCalls, ['c'], 'an answer 60 s old is asked again');
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import {
  type AccountImport,
  IMPORT_PATHS,
  type ImportBatchAnswer,
  MAX_IMPORT_BATCH,
  type SessionImport,
  type TermsImport,
} from '@tessera/admin-imports';
import { loadConfig } from '@tessera/config';
import { toMatrixError } from '@tessera/errors';
import { bucketStreamOf, connectNats, DATA_KEY_BUCKET, EventStore, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { Medium, type SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { createLogger, type DeadlineClient } from '@tessera/service-kit';
import { captureLogs, startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { type FakeNotifier, startFakeNotifier } from '../../test-support/fake-notifier.js';
import { emailTokenRequest, PRIVACY_EN, TERMS_YAML, TOS_EN, TOS_FR } from '../../test-support/requests.js';
import { storedText } from '../../test-support/stored-text.js';
import { startTestSession, type TestSession } from '../../test-support/test-session.js';
import { accountOf } from '../aggregates.js';
import { IMPORTED_SID } from './import-sessions.js';

// The session service's admin imports on a real nats-server: what `tessera import sydent` sends.

const HOUR_MS = 3_600_000;
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const OLD_TOS = 'https://example.org/tos-1.0-en.html';

let dir: string;
let nats: TestNats;
let nc: NatsConnection;
let store: EventStore;
let server: TestSession;
let session: DeadlineClient<SessionServiceClient>;
let notifier: FakeNotifier;
const { log, lines: logLines } = captureLogs((destination) => createLogger('session', 'debug', destination));

const sydentToken = () =>
  randomBytes(48)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 64);
const sydentSid = () => String(1 + Math.floor(Math.random() * 2 ** 31));

async function post(path: string, body: unknown, token: string | null = ADMIN_TOKEN) {
  const response = await fetch(`http://127.0.0.1:${server.server.admin?.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

// Every private value an import sent (long enough not to turn up by chance): the last test looks for each.
const privateValues = new Set<string>();
function rememberPrivate(item: unknown): void {
  if (item === null || typeof item !== 'object') return;
  const { token, userId, address, clientSecret } = item as Record<string, unknown>;
  for (const value of [token, userId, address, clientSecret])
    if (typeof value === 'string' && value.length >= 8) privateValues.add(value).add(value.toLowerCase());
}

async function importItems(path: string, items: unknown[]): Promise<string[]> {
  for (const item of items) rememberPrivate(item);
  const answer = await post(path, { items });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as ImportBatchAnswer).outcomes.map(({ outcome, reason }) =>
    outcome === 'refused' ? `refused: ${reason}` : outcome,
  );
}

/** What a second import must leave as it was: every stream's last sequence, the data-key bucket's included. */
async function storedSequences() {
  const jsm = await nc.jetstreamManager();
  const sequences: Record<string, number> = {};
  for (const stream of ['TESSERA_EVENTS', 'TESSERA_SHORT', bucketStreamOf(DATA_KEY_BUCKET)])
    sequences[stream] = (await jsm.streams.info(stream)).state.last_seq;
  return sequences;
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return toMatrixError(err as ServiceError).body.errcode;
  }
  assert.fail('expected the call to fail');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-session-import-'));
  nats = await startNats();
  nc = await connectNats({ url: nats.url, name: 'session-import-test' });
  await provision(nc);
  store = new EventStore(nc);
  const secretFile = join(dir, 'server.key');
  await writeFile(secretFile, `${randomBytes(32).toString('base64')}\n`);
  const termsFile = join(dir, 'terms.yaml');
  await writeFile(termsFile, TERMS_YAML);
  const tokenFile = join(dir, 'admin.token');
  await writeFile(tokenFile, `${ADMIN_TOKEN}\n`);
  const config = loadConfig({
    TESSERA_GRPC_LISTEN: '127.0.0.1:0',
    TESSERA_NATS_URL: nats.url,
    TESSERA_SECRET_KEY_FILE: secretFile,
    TESSERA_TERMS_FILE: termsFile,
    TESSERA_DELIVERY_WAIT_MS: '2000',
    TESSERA_SESSION_ADMIN_LISTEN: '127.0.0.1:0',
    TESSERA_SESSION_ADMIN_TOKEN_FILE: tokenFile,
  });
  notifier = await startFakeNotifier(nc);
  server = await startTestSession({ config, nc, log });
  session = server.client;
});

after(async () => {
  notifier?.stop();
  await server?.stop();
  await nc?.drain();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the session admin API', () => {
  it('answers only requests with its token, and refuses a batch larger than the contract allows', async () => {
    assert.equal((await post(IMPORT_PATHS.session.accounts, { items: [] }, null)).status, 401);
    assert.equal((await post(IMPORT_PATHS.session.accounts, { items: [] }, 'wrong-token-of-some-length')).status, 401);
    const tooMany = await post(IMPORT_PATHS.session.terms, { items: new Array(MAX_IMPORT_BATCH + 1).fill({}) });
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.body.errcode, 'M_TOO_LARGE');
    const notAList = await post(IMPORT_PATHS.session.sessions, { items: 'none' });
    assert.equal(notAList.status, 400);
    assert.deepEqual(await importItems(IMPORT_PATHS.session.sessions, []), []);
  });
});

describe('import/accounts', () => {
  const alice: AccountImport = { token: sydentToken(), userId: '@alice:hs.example', createdTs: 1_700_000_000_123 };
  const bob: AccountImport = { token: sydentToken(), userId: '@bob:HS.example', createdTs: 1_700_000_100_000 };

  it('registers each token for its user at createdTs, refusing a bad item without stopping the others', async () => {
    const outcomes = await importItems(IMPORT_PATHS.session.accounts, [
      alice,
      { ...alice, token: sydentToken(), userId: 'not-a-user-id' },
      { token: 'has a space', userId: '@carol:hs.example', createdTs: 1 },
      bob,
      { ...bob, token: sydentToken(), createdTs: -5 },
      'not an object',
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.split(':')[0]),
      ['imported', 'refused', 'refused', 'imported', 'refused', 'refused'],
    );
    assert.equal((await session.authenticate({ token: alice.token })).userId, alice.userId);
    assert.equal((await session.authenticate({ token: bob.token })).userId, bob.userId);
    const [registered] = (await store.load(accountOf(alice.token).subject)).events;
    assert.equal(registered?.type, 'AccountRegistered');
    assert.equal(registered?.occurredAt?.getTime(), alice.createdTs);
    const payload = registered?.payload;
    assert.ok(payload?.$case === 'accountRegistered');
    assert.equal(payload.value.matrixServerName, 'hs.example');
    assert.equal(payload.value.userId, '', 'the user ID is sealed, never in plaintext');
  });

  it('answers present for accounts already here, appending nothing and making no data key', async () => {
    const before = await storedSequences();
    assert.deepEqual(await importItems(IMPORT_PATHS.session.accounts, [alice, bob]), ['present', 'present']);
    assert.deepEqual(await storedSequences(), before);
  });

  it('answers present for a token logged out since, which stays logged out', async () => {
    const carol: AccountImport = { token: sydentToken(), userId: '@carol:hs.example', createdTs: 1_700_000_000_000 };
    assert.deepEqual(await importItems(IMPORT_PATHS.session.accounts, [carol]), ['imported']);
    await session.logout({ token: carol.token });
    assert.deepEqual(await importItems(IMPORT_PATHS.session.accounts, [carol]), ['present']);
    assert.equal(await rejection(session.authenticate({ token: carol.token })), 'M_UNAUTHORIZED');
  });
});

describe('import/terms', () => {
  const accounts = {
    anyLanguage: { token: sydentToken(), userId: '@dora:hs.example', createdTs: 1_700_000_000_000 },
    partial: { token: sydentToken(), userId: '@dave:hs.example', createdTs: 1_700_000_000_000 },
  } satisfies Record<string, AccountImport>;
  const terms: TermsImport[] = [
    { userId: accounts.anyLanguage.userId, urls: [OLD_TOS, TOS_FR, PRIVACY_EN] },
    { userId: accounts.partial.userId, urls: [TOS_EN] },
  ];
  const termsAccepted = async (token: string) => (await session.authenticate({ token })).termsAccepted;

  before(async () => {
    assert.deepEqual(await importItems(IMPORT_PATHS.session.accounts, Object.values(accounts)), [
      'imported',
      'imported',
    ]);
  });

  it('carries acceptances over: every current policy in some language signs, a partial one is still asked', async () => {
    assert.equal(await termsAccepted(accounts.anyLanguage.token), false, 'nothing accepted yet');
    const outcomes = await importItems(IMPORT_PATHS.session.terms, [
      terms[0],
      { userId: 'nobody', urls: [TOS_EN] },
      { userId: '@erin:hs.example', urls: 'all of them' },
      terms[1],
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.split(':')[0]),
      ['imported', 'refused', 'refused', 'imported'],
    );
    assert.equal(await termsAccepted(accounts.anyLanguage.token), true);
    assert.equal(await termsAccepted(accounts.partial.token), false);
    // The existing check: a v2 requestToken of a user who has not signed is refused.
    const request = session.requestToken(
      emailTokenRequest({
        address: 'dave@example.org',
        clientSecret: 'dave-secret',
        sendAttempt: 1,
        accessToken: accounts.partial.token,
      }),
    );
    assert.equal(await rejection(request), 'M_TERMS_NOT_SIGNED');
  });

  it('answers present when every URL is accepted already, appending nothing; new URLs only otherwise', async () => {
    const before = await storedSequences();
    assert.deepEqual(await importItems(IMPORT_PATHS.session.terms, terms), ['present', 'present']);
    assert.deepEqual(await storedSequences(), before);
    const more = { userId: accounts.partial.userId, urls: [TOS_EN, PRIVACY_EN] };
    assert.deepEqual(await importItems(IMPORT_PATHS.session.terms, [more]), ['imported']);
    assert.equal(await termsAccepted(accounts.partial.token), true);
  });
});

describe('import/sessions', () => {
  const now = Date.now();
  const pending: SessionImport = {
    sid: sydentSid(),
    medium: 'email',
    address: 'Grace.Hopper@Example.ORG',
    clientSecret: 'grace-secret-1',
    token: 'xavjYD80J0mU3FFFfpwDnK9QpSRS9RdQ',
    validated: false,
    mtime: now - 2 * HOUR_MS,
  };
  const validated: SessionImport = {
    sid: sydentSid(),
    medium: 'email',
    address: 'heidi@example.org',
    clientSecret: 'heidi-secret-1',
    token: '7BJVl7dB8TMApbTXzFK49VoyGWExjJ7f',
    validated: true,
    mtime: now - 23 * HOUR_MS,
  };
  const sms: SessionImport = {
    sid: sydentSid(),
    medium: 'msisdn',
    address: '447700900123',
    clientSecret: 'sms-secret-1',
    token: '123456',
    validated: false,
    mtime: now - HOUR_MS,
  };
  const expired: SessionImport = { ...pending, sid: sydentSid(), mtime: now - 24 * HOUR_MS };
  const getValidated = (sid: string, clientSecret: string) => session.getValidated3Pid({ sid, clientSecret });

  it('imports live sessions as they were, refusing expired and bad ones without stopping the others', async () => {
    const outcomes = await importItems(IMPORT_PATHS.session.sessions, [
      pending,
      expired,
      { ...pending, sid: 'c2Vzc2lvbi1pZC1vZi0yMg' },
      { ...sms, sid: sydentSid(), address: '+44 7700' },
      validated,
      { ...validated, sid: sydentSid(), clientSecret: 'has spaces' },
      { ...validated, sid: sydentSid(), mtime: now + HOUR_MS },
      sms,
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.split(':')[0]),
      ['imported', 'refused', 'refused', 'refused', 'imported', 'refused', 'refused', 'imported'],
    );
    assert.match(outcomes[1] as string, /expired/);
    assert.ok(!outcomes.some((outcome) => outcome.includes('@')), 'no address in a reason');
    assert.equal((await store.load(subjectOf('session', expired.sid))).lastSeq, 0, 'nothing of a refused one');

    const events = (await store.load(subjectOf('session', pending.sid))).events;
    assert.deepEqual(
      events.map((event) => event.type),
      ['SessionStarted', 'TokenIssued'],
    );
    for (const event of events) assert.equal(event.occurredAt?.getTime(), pending.mtime);
    const issued = events[1]?.payload;
    assert.ok(issued?.$case === 'tokenIssued');
    assert.equal(issued.value.imported, true);
    assert.equal((await store.load(subjectOf('delivery', issued.value.deliveryId))).lastSeq, 0, 'no delivery');
    assert.equal(notifier.delivered.filter((d) => d.sid === pending.sid).length, 0, 'nothing sent again');
  });

  it('proves the 3PID of a session imported validated, normalised as requestToken stores it, validated at its mtime', async () => {
    const answer = await getValidated(validated.sid, validated.clientSecret);
    assert.equal(answer.medium, Medium.MEDIUM_EMAIL);
    assert.equal(answer.address, 'heidi@example.org');
    assert.equal(answer.validatedAt, validated.mtime);
    assert.equal(await rejection(getValidated(validated.sid, 'another-secret')), 'M_NO_VALID_SESSION');
  });

  it('validates a pending session with the token Sydent mailed, then proves its 3PID', async () => {
    assert.equal(await rejection(getValidated(pending.sid, pending.clientSecret)), 'M_SESSION_NOT_VALIDATED');
    const submitted = await session.submitToken({
      sid: pending.sid,
      clientSecret: pending.clientSecret,
      token: pending.token,
    });
    assert.equal(submitted.success, true);
    const answer = await getValidated(pending.sid, pending.clientSecret);
    assert.equal(answer.address, 'grace.hopper@example.org');
    assert.ok(answer.validatedAt >= now, 'validated now, not at its mtime');
    const sent = await session.submitToken({ sid: sms.sid, clientSecret: sms.clientSecret, token: sms.token });
    assert.equal(sent.success, true);
    assert.equal((await getValidated(sms.sid, sms.clientSecret)).address, sms.address);
  });

  it('answers present for sessions already here, appending nothing; refuses a sid that is another session', async () => {
    const before = await storedSequences();
    const outcomes = await importItems(IMPORT_PATHS.session.sessions, [
      pending,
      validated,
      sms,
      { ...sms, clientSecret: 'another-secret' },
      { ...validated, token: 'another-token' },
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.split(':')[0]),
      ['present', 'present', 'present', 'refused', 'refused'],
    );
    assert.match(outcomes[3] as string, /another session/);
    assert.deepEqual(await storedSequences(), before);
  });

  it('keeps the 24 h from mtime: a session imported 24 h less 3 s after it was validated proves nothing 3 s later', async () => {
    const late = { ...validated, sid: sydentSid(), mtime: Date.now() - 24 * HOUR_MS + 3_000 };
    assert.deepEqual(await importItems(IMPORT_PATHS.session.sessions, [late]), ['imported']);
    const endsAt = late.mtime + 24 * HOUR_MS;
    // Waited for, not assumed: asked until refused, each answer checked against the time asked.
    for (;;) {
      const asked = Date.now();
      try {
        await getValidated(late.sid, late.clientSecret);
        assert.ok(asked <= endsAt, 'still proving its 3PID after its 24 h');
        await new Promise((resolve) => setTimeout(resolve, 200));
      } catch (err) {
        assert.equal(toMatrixError(err as ServiceError).body.errcode, 'M_SESSION_EXPIRED');
        assert.ok(Date.now() > endsAt, 'expired before its 24 h');
        break;
      }
    }
  });

  it('sends a requestToken of the same medium, address and client secret on to the imported session, as Sydent would', async () => {
    const resumed: SessionImport = {
      sid: sydentSid(),
      medium: 'email',
      address: 'Ivan@Example.org',
      clientSecret: 'ivan-secret-1',
      token: 'MNKWchrnHgAJqdrFcej8eWfyapq5TDw4',
      validated: false,
      mtime: Date.now() - HOUR_MS,
    };
    assert.deepEqual(await importItems(IMPORT_PATHS.session.sessions, [resumed]), ['imported']);
    const requestAgain = (sendAttempt: number) =>
      session.requestToken(
        // The address as the gateway normalises what is typed.
        emailTokenRequest({ address: 'ivan@example.org', clientSecret: resumed.clientSecret, sendAttempt }),
      );
    assert.equal((await requestAgain(1)).sid, resumed.sid);
    const mailed = await notifier.waitFor((delivery) => delivery.sid === resumed.sid);
    assert.notEqual(mailed.token, resumed.token);
    assert.equal(mailed.clientSecret, resumed.clientSecret);
    // The same send_attempt again sends nothing more.
    assert.equal((await requestAgain(1)).sid, resumed.sid);
    assert.equal(notifier.delivered.filter((delivery) => delivery.sid === resumed.sid).length, 1);
    // Either token validates the one session.
    const submitted = await session.submitToken({
      sid: resumed.sid,
      clientSecret: resumed.clientSecret,
      token: mailed.token,
    });
    assert.equal(submitted.success, true);
    assert.equal((await getValidated(resumed.sid, resumed.clientSecret)).address, 'ivan@example.org');
    assert.deepEqual(await importItems(IMPORT_PATHS.session.sessions, [resumed]), ['present']);
  });

  it("never takes a sid this service makes: Tessera's sids are 22 characters, an imported one a decimal", async () => {
    assert.ok(!IMPORTED_SID.test('c2Vzc2lvbi1pZC1vZi0yMg'));
    assert.ok(!IMPORTED_SID.test('1'.repeat(22)));
    assert.ok(IMPORTED_SID.test(String(2 ** 31)));
  });
});

describe('what the imports write', () => {
  it('holds no imported token, client secret, address or user ID in the stream or the logs', async () => {
    const everything = [...(await storedText(nc)), ...logLines.map((line) => JSON.stringify(line))].join('\n');
    assert.ok(privateValues.size > 20, 'the tests above imported many private values');
    for (const value of privateValues)
      assert.equal(everything.includes(value), false, 'found an imported private value in the stream or the logs');
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { type Config, loadConfig } from '@tessera/config';
import { withCorrelation } from '@tessera/correlation';
import { toMatrixError } from '@tessera/errors';
import {
  connectNats,
  DataKeys,
  decodeEnvelope,
  EventStore,
  newEvent,
  openDataKeySource,
  subjectOf,
} from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { Medium, type SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { createLogger, type DeadlineClient } from '@tessera/service-kit';
import { type FakeHomeserver, startFakeHomeserver, startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { FAILURE_REASON, type FakeNotifier, startFakeNotifier } from '../test-support/fake-notifier.js';
import { emailTokenRequest, PRIVACY_EN, TERMS_YAML, TOS_EN, TOS_FR } from '../test-support/requests.js';
import { storedText } from '../test-support/stored-text.js';
import { startTestSession, type TestSession } from '../test-support/test-session.js';
import { accountOf, legacyTermsSubject } from './aggregates.js';

const DELIVERY_WAIT_MS = 1_000;
const DAY_MS = 86_400_000;

let dir: string;
let nats: TestNats;
let nc: NatsConnection;
let store: EventStore;
let config: Config;
let server: TestSession;
let session: DeadlineClient<SessionServiceClient>;
let notifier: FakeNotifier;
let homeserver: FakeHomeserver;
let clockFile: string;
const logLines: string[] = [];
const log = createLogger(
  'session',
  'debug',
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);
// Every private value a test sends or receives: the privacy test looks for each in the stream and the logs.
const secretsUsed = new Set<string>();
const remember = <T extends string>(value: T): T => {
  secretsUsed.add(value);
  return value;
};
const newClientSecret = () => remember(`cs-${randomBytes(12).toString('hex')}`);
const newEmail = () => remember(`user-${randomBytes(6).toString('hex')}@example.org`);
const CLIENT_IP = remember('203.0.113.77');

const startServer = (options: { config: Config; nc: NatsConnection }) => startTestSession({ ...options, log });

async function rejection(promise: Promise<unknown>): Promise<{ errcode: string; status: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const { status, body } = toMatrixError(err as ServiceError);
    return { errcode: body.errcode, status, message: body.error };
  }
  assert.fail('expected the call to fail');
}

const requestEmailToken = (
  address: string,
  clientSecret: string,
  sendAttempt = 1,
  nextLink = '',
  clientLowercaseAddress = '',
) =>
  session.requestToken({
    medium: Medium.MEDIUM_EMAIL,
    address,
    clientSecret,
    sendAttempt,
    nextLink,
    brand: '',
    clientIp: CLIENT_IP,
    country: '',
    accessToken: '',
    clientLowercaseAddress,
  });

const eventTypesOf = async (sid: string) =>
  (await store.load(subjectOf('session', sid))).events.map((event) => event.type);

/** A session whose token the fake notifier opened. */
async function startedSession(nextLink = '') {
  const address = newEmail();
  const clientSecret = newClientSecret();
  const { sid } = await requestEmailToken(address, clientSecret, 1, nextLink);
  const { token } = await notifier.waitFor((delivery) => delivery.sid === sid);
  remember(token);
  return { address, clientSecret, sid, token };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-session-int-'));
  nats = await startNats();
  nc = await connectNats({ url: nats.url, name: 'session-int-test' });
  await provision(nc);
  store = new EventStore(nc);
  homeserver = await startFakeHomeserver();
  const secretFile = join(dir, 'server.key');
  await writeFile(secretFile, `${randomBytes(32).toString('base64')}\n`);
  const termsFile = join(dir, 'terms.yaml');
  await writeFile(termsFile, TERMS_YAML);
  clockFile = join(dir, 'clock-offset');
  config = loadConfig({
    TESSERA_GRPC_LISTEN: '127.0.0.1:0',
    TESSERA_NATS_URL: nats.url,
    TESSERA_SECRET_KEY_FILE: secretFile,
    TESSERA_TERMS_FILE: termsFile,
    TESSERA_CLOCK_OFFSET_FILE: clockFile,
    TESSERA_DELIVERY_WAIT_MS: String(DELIVERY_WAIT_MS),
    TESSERA_TOKEN_MAX_FAILURES: '5',
    TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8',
    TESSERA_OUTBOUND_VERIFY_TLS: 'false',
  });
  notifier = await startFakeNotifier(nc);
  server = await startServer({ config, nc });
  session = server.client;
});

after(async () => {
  notifier?.stop();
  await server?.stop();
  await homeserver?.close();
  await nc?.drain();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('requestToken', () => {
  it("records the caller's correlation id in the session's events and on its log lines", async () => {
    const correlationId = `req-${randomBytes(6).toString('hex')}`;
    const { sid } = await withCorrelation(correlationId, () => requestEmailToken(newEmail(), newClientSecret()));
    remember((await notifier.waitFor((d) => d.sid === sid)).token);
    const stored = await nc.jetstream().jetstreamManager();
    const last = await stored.streams.getMessage('TESSERA_SHORT', { last_by_subj: subjectOf('session', sid) });
    assert.equal(decodeEnvelope(last.data).correlationId, correlationId);
    const issued = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.sid === sid);
    assert.equal(issued?.correlationId, correlationId);
  });

  it('appends SessionStarted and TokenIssued and answers {sid} once the notifier reports TokenSent', async () => {
    const address = newEmail();
    const clientSecret = newClientSecret();
    const { sid } = await requestEmailToken(address, clientSecret, 1, 'https://client.example/done');
    assert.match(sid, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued']);
    const delivery = await notifier.waitFor((d) => d.sid === sid);
    remember(delivery.token);
    assert.equal(delivery.address, address);
    assert.equal(delivery.clientSecret, clientSecret);
    assert.equal(delivery.clientIp, CLIENT_IP);
    assert.equal(delivery.nextLink, 'https://client.example/done');
    assert.match(delivery.token, /^[A-Za-z0-9]{32}$/);
    assert.ok(delivery.deliveryId.startsWith(`${sid}-1-`));
  });

  it('answers M_EMAIL_SEND_ERROR when the notifier reports TokenSendFailed', async () => {
    notifier.mode = 'fail';
    try {
      const refused = await rejection(requestEmailToken(newEmail(), newClientSecret()));
      assert.equal(refused.errcode, 'M_EMAIL_SEND_ERROR');
      assert.ok(refused.message.includes(FAILURE_REASON));
    } finally {
      notifier.mode = 'send';
    }
  });

  it('answers M_SEND_ERROR for an SMS the notifier could not send, after issuing a 6-digit token', async () => {
    notifier.mode = 'fail';
    const msisdn = remember('447700900123');
    try {
      const refused = await rejection(
        session.requestToken({
          medium: Medium.MEDIUM_MSISDN,
          address: msisdn,
          clientSecret: newClientSecret(),
          sendAttempt: 1,
          nextLink: '',
          brand: '',
          clientIp: '',
          country: 'gb',
          accessToken: '',
          clientLowercaseAddress: '',
        }),
      );
      assert.equal(refused.errcode, 'M_SEND_ERROR');
      const delivery = await notifier.waitFor((d) => d.address === msisdn);
      assert.match(remember(delivery.token), /^[0-9]{6}$/);
    } finally {
      notifier.mode = 'send';
    }
  });

  it('answers {sid} after the wait when the notifier reports nothing', async () => {
    notifier.mode = 'silent';
    try {
      const began = Date.now();
      const { sid } = await requestEmailToken(newEmail(), newClientSecret());
      assert.ok(Date.now() - began >= DELIVERY_WAIT_MS - 50, 'answered before the wait was over');
      assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued']);
      assert.ok(logLines.some((line) => line.includes('no delivery outcome in time') && line.includes(sid)));
    } finally {
      notifier.mode = 'send';
    }
  });

  it('gives the same sid for the same send_attempt and sends nothing more', async () => {
    const { address, clientSecret, sid } = await startedSession();
    const began = Date.now();
    const again = await requestEmailToken(address, clientSecret, 1);
    assert.equal(again.sid, sid);
    assert.ok(Date.now() - began < DELIVERY_WAIT_MS, 'waited for a delivery that was never asked for');
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued']);
    assert.equal(notifier.delivered.filter((d) => d.sid === sid).length, 1);
  });

  it('sends again, under the same sid, for a higher send_attempt', async () => {
    const { address, clientSecret, sid } = await startedSession();
    assert.equal((await requestEmailToken(address, clientSecret, 2)).sid, sid);
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued', 'TokenIssued']);
    const resent = await notifier.waitFor((d) => d.sid === sid && d.sendAttempt === 2);
    remember(resent.token);
  });

  it('sends again for the same send_attempt after the delivery failed, and not after it was sent', async () => {
    const address = newEmail();
    const clientSecret = newClientSecret();
    notifier.mode = 'fail';
    try {
      assert.equal((await rejection(requestEmailToken(address, clientSecret, 1))).errcode, 'M_EMAIL_SEND_ERROR');
    } finally {
      notifier.mode = 'send';
    }
    const { sid } = await requestEmailToken(address, clientSecret, 1);
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued', 'TokenIssued']);
    const resent = await notifier.waitFor((d) => d.sid === sid && d.address === null);
    remember(resent.token);
    assert.equal(resent.sendAttempt, 1);
    // Sent now: the same send_attempt again is used up.
    assert.equal((await requestEmailToken(address, clientSecret, 1)).sid, sid);
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued', 'TokenIssued']);
  });

  it('sends nothing for the same send_attempt while the delivery has no outcome: it is on its way', async () => {
    const address = newEmail();
    const clientSecret = newClientSecret();
    notifier.mode = 'silent';
    let sid: string;
    try {
      sid = (await requestEmailToken(address, clientSecret, 1)).sid;
      assert.equal((await requestEmailToken(address, clientSecret, 1)).sid, sid);
    } finally {
      notifier.mode = 'send';
    }
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued']);
  });

  // The address is normalised once, by the gateway (its route tests refuse malformed ones).
  it('refuses a bad client_secret, send_attempt, next_link or medium with M_INVALID_PARAM', async () => {
    const address = newEmail();
    assert.equal((await rejection(requestEmailToken(address, 'bad secret!'))).errcode, 'M_INVALID_PARAM');
    assert.equal((await rejection(requestEmailToken(address, newClientSecret(), -1))).errcode, 'M_INVALID_PARAM');
    const javascript = requestEmailToken(address, newClientSecret(), 1, 'javascript:alert(1)');
    assert.equal((await rejection(javascript)).errcode, 'M_INVALID_PARAM');
    const unspecified = session.requestToken(
      emailTokenRequest({
        medium: Medium.MEDIUM_UNSPECIFIED,
        address,
        clientSecret: newClientSecret(),
        sendAttempt: 1,
      }),
    );
    assert.equal((await rejection(unspecified)).errcode, 'M_INVALID_PARAM');
  });
});

describe('submitToken and getValidated3pid', () => {
  it('validates with the token the notifier opened, and gives back the next_link', async () => {
    const { sid, clientSecret, token } = await startedSession('https://client.example/next');
    const submitted = await session.submitToken({ sid, clientSecret, token });
    assert.deepEqual(submitted, { success: true, nextLink: 'https://client.example/next' });
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued', 'SessionValidated']);
  });

  it('accepts the right token twice', async () => {
    const { sid, clientSecret, token } = await startedSession();
    await session.submitToken({ sid, clientSecret, token });
    assert.equal((await session.submitToken({ sid, clientSecret, token })).success, true);
    assert.deepEqual(await eventTypesOf(sid), ['SessionStarted', 'TokenIssued', 'SessionValidated']);
  });

  it('returns the normalised address, its medium and validated_at', async () => {
    const { sid, clientSecret, token, address } = await startedSession();
    const before = Date.now();
    await session.submitToken({ sid, clientSecret, token });
    const validated = await session.getValidated3Pid({ sid, clientSecret });
    assert.equal(validated.medium, Medium.MEDIUM_EMAIL);
    assert.equal(validated.address, address);
    assert.ok(validated.validatedAt >= before && validated.validatedAt <= Date.now());
    assert.equal(validated.clientLowercaseAddress, '', 'an ASCII address has no other lower-cased form');
    const [started] = (await store.load(subjectOf('session', sid))).events;
    assert.ok(started?.payload?.$case === 'sessionStarted');
    assert.equal(started.payload.value.clientLowercaseAddress, undefined);
  });

  it("seals the client's lower-cased address in SessionStarted and gives it back with the address", async () => {
    const local = `straße-${randomBytes(6).toString('hex')}`;
    const typedForm = remember(`${local}@example.org`); // as matrix-js-sdk lower-cases it
    const address = remember(`${local.replace('ß', 'ss')}@example.org`); // as the gateway folds it
    const clientSecret = newClientSecret();
    const { sid } = await requestEmailToken(address, clientSecret, 1, '', typedForm);
    const { token } = await notifier.waitFor((delivery) => delivery.sid === sid);
    remember(token);
    await session.submitToken({ sid, clientSecret, token });
    const validated = await session.getValidated3Pid({ sid, clientSecret });
    assert.deepEqual([validated.address, validated.clientLowercaseAddress], [address, typedForm]);
    // Sealed (the privacy test below finds neither form in the stream, in any encoding).
    const [started] = (await store.load(subjectOf('session', sid))).events;
    assert.ok(started?.payload?.$case === 'sessionStarted');
    assert.ok(started.payload.value.clientLowercaseAddress?.ciphertext.length);
  });

  it('refuses a client_lowercase_address that is no lower-cased form of the address with M_INVALID_PARAM', async () => {
    const address = remember(`strasse-${randomBytes(6).toString('hex')}@example.org`);
    const other = remember(`straße-${randomBytes(6).toString('hex')}@example.org`);
    const refused = await rejection(requestEmailToken(address, newClientSecret(), 1, '', other));
    assert.equal(refused.errcode, 'M_INVALID_PARAM');
  });

  it('answers M_SESSION_NOT_VALIDATED before the token is submitted', async () => {
    const { sid, clientSecret } = await startedSession();
    assert.equal((await rejection(session.getValidated3Pid({ sid, clientSecret }))).errcode, 'M_SESSION_NOT_VALIDATED');
  });

  it('gives the same 404 M_NO_VALID_SESSION, word for word, for a wrong sid and a wrong secret', async () => {
    const { sid, clientSecret, token } = await startedSession();
    const wrongSid = await rejection(session.submitToken({ sid: 'AAAAAAAAAAAAAAAAAAAAAA', clientSecret, token }));
    const wrongSecret = await rejection(session.submitToken({ sid, clientSecret: newClientSecret(), token }));
    assert.deepEqual(wrongSid, wrongSecret);
    assert.equal(wrongSid.errcode, 'M_NO_VALID_SESSION');
    assert.equal(wrongSid.status, 404);
    const checkWrongSid = await rejection(session.getValidated3Pid({ sid: 'AAAAAAAAAAAAAAAAAAAAAA', clientSecret }));
    const checkWrongSecret = await rejection(session.getValidated3Pid({ sid, clientSecret: newClientSecret() }));
    assert.deepEqual(checkWrongSid, checkWrongSecret);
    assert.deepEqual(checkWrongSid, wrongSid);
  });

  it('locks after five wrong tokens, remembering each, and then refuses even the right token', async () => {
    const { sid, clientSecret, token } = await startedSession();
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await rejection(session.submitToken({ sid, clientSecret, token: `wrong${i}` }))).errcode,
        'M_TOKEN_INCORRECT',
      );
    const types = await eventTypesOf(sid);
    assert.equal(types.filter((type) => type === 'TokenRejected').length, 5);
    assert.equal(types.at(-1), 'SessionLocked');
    assert.equal((await rejection(session.submitToken({ sid, clientSecret, token }))).errcode, 'M_SESSION_EXPIRED');
    assert.equal((await rejection(session.getValidated3Pid({ sid, clientSecret }))).errcode, 'M_SESSION_EXPIRED');
  });

  it('expires when the clock-offset file moves time 24 h ahead, and starts over on requestToken', async () => {
    const { address, sid, clientSecret, token } = await startedSession();
    await writeFile(clockFile, String(DAY_MS + 60_000));
    try {
      assert.equal((await rejection(session.submitToken({ sid, clientSecret, token }))).errcode, 'M_SESSION_EXPIRED');
      assert.equal((await requestEmailToken(address, clientSecret, 1)).sid, sid);
      const fresh = await notifier.waitFor((d) => d.sid === sid && d.token !== token);
      remember(fresh.token);
      assert.equal((await session.submitToken({ sid, clientSecret, token: fresh.token })).success, true);
    } finally {
      await unlink(clockFile);
    }
  });
});

describe('accounts and terms', () => {
  const register = (accessToken: string, matrixServerName = homeserver.serverName, tokenType = 'Bearer') =>
    session.registerAccount({ accessToken, tokenType, matrixServerName, expiresIn: 3600 });

  it('registers with an OpenID token the homeserver vouches for; Authenticate then names the user', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    const userId = remember(`@alice:${homeserver.serverName}`);
    homeserver.addOpenIdToken(openIdToken, userId);
    const { token } = await register(openIdToken);
    assert.match(remember(token), /^[A-Za-z0-9]{64}$/);
    assert.deepEqual(await session.authenticate({ token }), { userId, termsAccepted: false });
  });

  it('registers without expires_in, and with token_type unset (proto3: empty) taken as Bearer', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    const userId = remember(`@heidi:${homeserver.serverName}`);
    homeserver.addOpenIdToken(openIdToken, userId);
    const { token } = await session.registerAccount({
      accessToken: openIdToken,
      tokenType: '',
      matrixServerName: homeserver.serverName,
    });
    assert.equal((await session.authenticate({ token: remember(token) })).userId, userId);
  });

  it('turns terms_accepted on once one URL of every current policy is accepted', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    const userId = remember(`@bob:${homeserver.serverName}`);
    homeserver.addOpenIdToken(openIdToken, userId);
    const { token } = await register(openIdToken);
    remember(token);
    await session.acceptTerms({ userId, userAccepts: [TOS_FR] });
    assert.equal((await session.authenticate({ token })).termsAccepted, false);
    await session.acceptTerms({ userId, userAccepts: [PRIVACY_EN] });
    assert.equal((await session.authenticate({ token })).termsAccepted, true);
  });

  it('checks the access token RequestToken carries as Authenticate does, and issues nothing when it refuses', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    const userId = remember(`@erin:${homeserver.serverName}`);
    homeserver.addOpenIdToken(openIdToken, userId);
    const token = remember((await register(openIdToken)).token);
    const asUser = (accessToken: string, clientSecret: string) =>
      session.requestToken({
        medium: Medium.MEDIUM_EMAIL,
        address: newEmail(),
        clientSecret,
        sendAttempt: 1,
        nextLink: '',
        brand: '',
        clientIp: CLIENT_IP,
        country: '',
        accessToken,
        clientLowercaseAddress: '',
      });
    const refusedSecrets = [newClientSecret(), newClientSecret(), newClientSecret()];

    const unknown = await rejection(asUser(remember('y'.repeat(64)), refusedSecrets[0] as string));
    assert.deepEqual([unknown.errcode, unknown.status], ['M_UNAUTHORIZED', 401]);
    const unsigned = await rejection(asUser(token, refusedSecrets[1] as string));
    assert.deepEqual([unsigned.errcode, unsigned.status], ['M_TERMS_NOT_SIGNED', 403]);

    await session.acceptTerms({ userId, userAccepts: [TOS_FR, PRIVACY_EN] });
    const accepted = newClientSecret();
    const { sid } = await asUser(token, accepted);
    await notifier.waitFor((delivery) => delivery.sid === sid);

    await session.logout({ token });
    const loggedOut = await rejection(asUser(token, refusedSecrets[2] as string));
    assert.deepEqual([loggedOut.errcode, loggedOut.status], ['M_UNAUTHORIZED', 401]);
    const issuedFor = new Set(notifier.delivered.map((delivery) => delivery.clientSecret));
    assert.ok(issuedFor.has(accepted));
    for (const secret of refusedSecrets) assert.ok(!issuedFor.has(secret), 'a refused caller got a token');
  });

  it('lists the policies of the terms file', async () => {
    const { policiesJson } = await session.getTerms({});
    const policies = JSON.parse(policiesJson);
    assert.deepEqual(Object.keys(policies), ['terms_of_service', 'privacy_policy']);
    assert.deepEqual(policies.terms_of_service.fr, { name: "Conditions d'utilisation", url: TOS_FR });
  });

  it('refuses to accept a URL that is no current policy URL', async () => {
    const refused = await rejection(
      session.acceptTerms({ userId: remember('@carol:example.org'), userAccepts: ['https://example.org/other'] }),
    );
    assert.equal(refused.errcode, 'M_INVALID_PARAM');
  });

  it('makes Authenticate fail with 401 M_UNAUTHORIZED after Logout; a second Logout is M_UNKNOWN_TOKEN', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    homeserver.addOpenIdToken(openIdToken, remember(`@dave:${homeserver.serverName}`));
    const { token } = await register(openIdToken);
    remember(token);
    await session.logout({ token });
    const unauthorized = await rejection(session.authenticate({ token }));
    assert.deepEqual([unauthorized.errcode, unauthorized.status], ['M_UNAUTHORIZED', 401]);
    const unknown = await rejection(session.logout({ token }));
    assert.deepEqual([unknown.errcode, unknown.status], ['M_UNKNOWN_TOKEN', 401]);
  });

  it('sees a Logout and an acceptance made by another replica at once, though it answered from its cache', async () => {
    const otherNc = await connectNats({ url: nats.url, name: 'session-int-test-replica' });
    const replica = await startServer({ config, nc: otherNc });
    const other = replica.client;
    try {
      const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
      const userId = remember(`@frank:${homeserver.serverName}`);
      homeserver.addOpenIdToken(openIdToken, userId);
      const { token } = await register(openIdToken);
      remember(token);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(await session.authenticate({ token }), { userId, termsAccepted: false });
        assert.deepEqual(await other.authenticate({ token }), { userId, termsAccepted: false });
      }
      await other.acceptTerms({ userId, userAccepts: [TOS_EN, PRIVACY_EN] });
      assert.deepEqual(await session.authenticate({ token }), { userId, termsAccepted: true });
      assert.deepEqual(await other.authenticate({ token }), { userId, termsAccepted: true });
      await session.logout({ token });
      const unauthorized = await rejection(other.authenticate({ token }));
      assert.deepEqual([unauthorized.errcode, unauthorized.status], ['M_UNAUTHORIZED', 401]);
      assert.equal((await rejection(session.authenticate({ token }))).errcode, 'M_UNAUTHORIZED');
    } finally {
      await replica.stop();
      await otherNc.drain();
    }
  });

  it('opens the sealed user ID once per token: later calls answer from the cache, as erasing the key shows', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    const userId = remember(`@grace:${homeserver.serverName}`);
    homeserver.addOpenIdToken(openIdToken, userId);
    const token = remember((await register(openIdToken)).token);
    assert.equal((await session.authenticate({ token })).userId, userId);

    await new DataKeys(await openDataKeySource(nc)).erase(accountOf(token).aggregate);
    assert.equal((await session.authenticate({ token })).userId, userId, 'answered without opening it again');

    // A replica that never opened it finds the key gone: the account can no longer be used.
    const otherNc = await connectNats({ url: nats.url, name: 'session-int-test-fresh' });
    const replica = await startServer({ config, nc: otherNc });
    const fresh = replica.client;
    try {
      assert.equal((await rejection(fresh.authenticate({ token }))).errcode, 'M_UNAUTHORIZED');
    } finally {
      await replica.stop();
      await otherNc.drain();
    }
  });

  it('still reads accounts and acceptances written with a plaintext user ID, and adds to them under the keyed subject', async () => {
    // Written as this service did before user IDs were sealed: not remembered, as these events hold it by design.
    const userId = `@olduser-${randomBytes(4).toString('hex')}:${homeserver.serverName}`;
    const token = remember(randomBytes(32).toString('hex'));
    const at = new Date();
    const legacyAccount = newEvent(
      {
        $case: 'accountRegistered',
        value: { userId, matrixServerName: homeserver.serverName, sealedUserId: undefined, userKey: '' },
      },
      at,
    );
    await store.append(accountOf(token).subject, [legacyAccount], { expectedSeq: 0, correlationId: 'legacy' });
    const legacyTerms = newEvent({ $case: 'termsAccepted', value: { userId, urls: [TOS_EN], userKey: '' } }, at);
    await store.append(legacyTermsSubject(userId), [legacyTerms], { expectedSeq: 0, correlationId: 'legacy' });

    assert.deepEqual(await session.authenticate({ token }), { userId, termsAccepted: false });
    await session.acceptTerms({ userId, userAccepts: [TOS_EN, PRIVACY_EN] });
    assert.deepEqual(await session.authenticate({ token }), { userId, termsAccepted: true });

    const legacy = await store.load(legacyTermsSubject(userId));
    assert.equal(legacy.events.length, 1, 'nothing is added under the unkeyed subject');
    const jsm = await nc.jetstreamManager();
    const last = await jsm.streams.getMessage('TESSERA_EVENTS', { last_by_subj: 'tessera.terms.>' });
    assert.notEqual(last.subject, legacyTermsSubject(userId));
    assert.equal(Buffer.from(last.data).includes(userId), false, 'the new acceptance does not name the user');
    const [accepted] = (await store.load(last.subject)).events;
    assert.deepEqual(accepted?.payload?.$case === 'termsAccepted' && accepted.payload.value.urls, [PRIVACY_EN]);
  });

  it('answers 401 M_UNAUTHORIZED to a token it never issued', async () => {
    const unknown = await rejection(session.authenticate({ token: remember('x'.repeat(64)) }));
    assert.deepEqual([unknown.errcode, unknown.status], ['M_UNAUTHORIZED', 401]);
  });

  it('refuses with 403 M_UNAUTHORIZED when the homeserver vouches for a user of another server', async () => {
    const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
    homeserver.addOpenIdToken(openIdToken, remember('@mallory:evil.example'));
    const refused = await rejection(register(openIdToken));
    assert.deepEqual([refused.errcode, refused.status], ['M_UNAUTHORIZED', 403]);
  });

  it('gives no token for an OpenID token the homeserver rejects', async () => {
    const refused = await rejection(register(remember('openid-unknown-to-the-homeserver')));
    assert.equal(refused.errcode, 'M_UNAUTHORIZED');
  });

  it('refuses a token_type other than Bearer and an invalid server name with M_INVALID_PARAM', async () => {
    assert.equal(
      (await rejection(register(remember('openid-x'), homeserver.serverName, 'MAC'))).errcode,
      'M_INVALID_PARAM',
    );
    assert.equal((await rejection(register(remember('openid-y'), 'not a server!'))).errcode, 'M_INVALID_PARAM');
  });

  it('refuses with 403 M_UNAUTHORIZED a homeserver not on TESSERA_HOMESERVER_ALLOW', async () => {
    const allowOnly = await startServer({
      config: { ...config, TESSERA_HOMESERVER_ALLOW: ['matrix.example.org'] },
      nc,
    });
    const client = allowOnly.client;
    try {
      const openIdToken = remember(`openid-${randomBytes(8).toString('hex')}`);
      homeserver.addOpenIdToken(openIdToken, `@erin:${homeserver.serverName}`);
      const refused = await rejection(
        client.registerAccount({
          accessToken: openIdToken,
          tokenType: 'Bearer',
          matrixServerName: homeserver.serverName,
          expiresIn: 3600,
        }),
      );
      assert.deepEqual([refused.errcode, refused.status], ['M_UNAUTHORIZED', 403]);
      assert.equal(
        homeserver.requests.some((request) => request.query.get('access_token') === openIdToken),
        false,
        'asked the homeserver anyway',
      );
    } finally {
      await allowOnly.stop();
    }
  });
});

describe('privacy', () => {
  it('writes no address, token, client secret, access token, IP address or user ID to the stream or the logs', async () => {
    assert.deepEqual(notifier.errors, []);
    assert.ok(secretsUsed.size > 20, 'the tests above should have used many private values');
    const stored = await storedText(nc);
    assert.ok(stored.length > 50);
    const everything = [...stored, ...logLines].join('\n');
    for (const secret of secretsUsed)
      assert.equal(everything.includes(secret), false, `found a private value in the stream or the logs`);
    // Nor an unkeyed hash of a user ID (anyone could test a guess against it), in a subject or elsewhere.
    const userIds = [...secretsUsed].filter((value) => value.startsWith('@'));
    assert.ok(userIds.length >= 5, 'the tests above registered users');
    for (const userId of userIds)
      assert.equal(everything.includes(createHash('sha256').update(userId).digest('base64url')), false);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { IMPORT_PATHS } from '@tessera/admin-imports';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { type Config, loadConfig } from '@tessera/config';
import {
  ASSOCIATIONS_PROJECTION,
  type Database,
  migrateToLatest,
  openDatabase,
  type RunningProjection,
  watchProjection,
} from '@tessera/db';
import { toMatrixError } from '@tessera/errors';
import {
  bucketStreamOf,
  connectNats,
  DATA_KEY_BUCKET,
  DataKeys,
  EventStore,
  handleCommand,
  loadState,
  newEvent,
  openDataKeySource,
  type RunningConsumer,
  silentLogger,
  subjectOf,
} from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { BindingSource } from '@tessera/proto/tessera/events/v1/association';
import { InviteMail, InviteSecrets, OnbindCall } from '@tessera/proto/tessera/events/v1/invite';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { InviteServiceClient } from '@tessera/proto/tessera/invite/v1/invite';
import { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import { createSecrets } from '@tessera/server-secret';
import { createDeadlineClient, createLogger, createMetrics, type DeadlineClient } from '@tessera/service-kit';
import {
  ASSOCIATION_SEALED_FIELDS,
  bindingDataKey,
  INVITE_SEALED_FIELDS,
  inviteDataKey,
  inviteMailDataKey,
  onbindDataKey,
} from '@tessera/spec-params';
import { startNats, startPostgres, type TestNats, type TestPostgres } from '@tessera/test-harness';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { startStandInProjection } from '../test-support/stand-in-projection.js';
import {
  LONG_TERM_KEY_ID,
  NEXT_KEY_ID,
  SERVER_NAME,
  type StandInSigning,
  startStandInSigning,
} from '../test-support/stand-in-signing.js';
import {
  ERIN_EPHEMERAL_PRIVATE_KEY,
  ERIN_SIGN_ED25519,
  FRANK_ONBIND,
  SYDENT_EPHEMERAL_KEYS,
  SYDENT_INVITES,
  SYDENT_SIGNING_SEED,
} from '../test-support/sydent-sample.js';
import { ADMIN_PATHS } from './admin/admin-paths.js';
import { runBindingsConsumer } from './bindings/bindings-consumer.js';
import { onbindSubject, requestOnbind } from './bindings/onbind-requests.js';
import { storedInvites } from './events/invite-events.js';
import { storedOnbinds } from './events/onbind-events.js';
import { type InviteServer, startInviteServer } from './invite-server.js';
import { inviteSubject } from './invites.js';
import { readModelOf } from './read-model.js';
import { loadInviteSettings } from './settings.js';
import { signingOf } from './signing.js';

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const PUBLIC_BASE_URL = 'https://id.example/';
const EXPIRY_MS = 3_600_000;

let dir: string;
let nats: TestNats;
let nc: NatsConnection;
let pg: TestPostgres;
let db: Kysely<Database>;
let signing: StandInSigning;
let projection: RunningProjection;
let config: Config;
let server: InviteServer;
let invite: DeadlineClient<InviteServiceClient>;
let dataKeys: DataKeys;
let secretKey: Buffer;
const metrics = createMetrics('invite');
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
const log = createLogger('invite', (process.env.TEST_LOG_LEVEL as 'fatal') ?? 'fatal');

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    const { status, body } = toMatrixError(err as ServiceError);
    return { errcode: body.errcode, status, body };
  }
  assert.fail('expected the call to fail');
}

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const newEmail = () => `Invitee-${randomBytes(6).toString('hex')}@Example.org`;
const normalised = (address: string) => address.toLowerCase();
const secrets = () => createSecrets(secretKey);
const addrKeyOf = (address: string) => secrets().addrKey('email', normalised(address));
const inviteIdOf = (token: string) => secrets().digest('invite_token', token);

const storeInvite = (address: string, more: { roomId?: string; sender?: string; fields?: object } = {}) =>
  invite.storeInvite({
    address,
    normalisedAddress: normalised(address),
    roomId: more.roomId ?? '!room:hs.example',
    sender: more.sender ?? '@inviter:hs.example',
    fieldsJson: JSON.stringify(more.fields ?? { room_name: 'Book club', sender_display_name: 'Inviter' }),
    brand: '',
    senderVerified: true,
  });
const isValid = async (publicKey: string) => (await invite.ephemeralKeyIsValid({ publicKey })).valid;
const projected = async (token: string) =>
  (await db.selectFrom('invite').select('status').where('invite_id', '=', inviteIdOf(token)).executeTakeFirst())
    ?.status;

/** The invite's stored event, as the notifier reads it. */
async function storedEvent(token: string) {
  const { events } = await new EventStore(nc).load(inviteSubject(inviteIdOf(token)));
  const [stored] = storedInvites.codec.fromStoredEvents(events);
  assert.ok(stored?.type === 'InviteStored');
  return stored.data;
}
async function sealedMail(token: string): Promise<InviteMail> {
  const data = await storedEvent(token);
  assert.ok(data.mail);
  const opened = await dataKeys.openField(inviteMailDataKey(data.inviteId), INVITE_SEALED_FIELDS.mail, data.mail);
  assert.ok(opened);
  return InviteMail.decode(opened);
}
const ephemeralSeed = async (token: string) => (await sealedMail(token)).ephemeralPrivateKey;

/** Binds the address as the directory does: an AssociationBound with its association sealed. */
async function bind(
  address: string,
  mxid: string,
  { waitProjected = true, source = BindingSource.BINDING_SOURCE_SESSION } = {},
) {
  const addrKey = addrKeyOf(address);
  const bindingId = randomBytes(12).toString('base64url');
  const ts = now();
  const association = { address: normalised(address), medium: 'email', mxid, ts, not_before: ts, not_after: ts + 1e12 };
  const sealed = await dataKeys.sealField(
    bindingDataKey(addrKey, bindingId),
    ASSOCIATION_SEALED_FIELDS.association,
    JSON.stringify(association),
  );
  const store = new EventStore(nc);
  const subject = subjectOf('assoc', addrKey);
  const { lastSeq } = await store.load(subject);
  const seq = await store.append(
    subject,
    [
      newEvent(
        {
          $case: 'associationBound',
          value: {
            addrKey,
            medium: ThreepidMedium.THREEPID_MEDIUM_EMAIL,
            bindingId,
            userKey: secrets().userKey(mxid),
            association: sealed,
            clientLowercaseAddress: undefined,
            ts,
            notBefore: ts,
            notAfter: ts + 1e12,
            source,
          },
        },
        new Date(ts),
      ),
    ],
    { expectedSeq: lastSeq },
  );
  if (waitProjected) await waitUntil(async () => projection.checkpoint() >= seq, 'the binding is projected');
  return { bindingId, seq };
}

/** The onbind call requested for a binding, opened; null while none is. */
async function onbindOf(bindingId: string) {
  const { events } = await new EventStore(nc).load(onbindSubject(bindingId));
  const requested = storedOnbinds.codec.fromStoredEvents(events);
  const first = requested[0];
  if (first === undefined) return null;
  const opened = await dataKeys.openField(onbindDataKey(bindingId), INVITE_SEALED_FIELDS.call, first.data.call);
  assert.ok(opened);
  const call = OnbindCall.decode(opened);
  return { requests: requested.length, event: first.data, destination: call.destination, bodyJson: call.bodyJson };
}

async function admin(body: unknown, token = ADMIN_TOKEN, path: string = ADMIN_PATHS.revoke) {
  const response = await fetch(`http://127.0.0.1:${server.admin?.port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
/** An import request of `tessera import sydent`: its outcomes, one per item. */
async function importing(path: string, items: unknown[]) {
  const { status, body } = await admin({ items }, ADMIN_TOKEN, path);
  assert.equal(status, 200, JSON.stringify(body));
  return body.outcomes as { outcome: string; reason?: string }[];
}
/** The last sequences of the event stream and of the data-key bucket: what an append or a new key moves. */
async function storeSequences() {
  const jsm = await nc.jetstreamManager();
  const [events, keys] = await Promise.all([
    jsm.streams.info('TESSERA_EVENTS'),
    jsm.streams.info(bucketStreamOf(DATA_KEY_BUCKET)),
  ]);
  return { events: events.state.last_seq, dataKeys: keys.state.last_seq };
}

/**
 * Waits until the bindings consumer has handled every binding stored so far: it handles them in
 * stream order, so once an invited address bound after them has its call, they were handled.
 */
async function bindingsHandled() {
  const marker = newEmail();
  await storeInvite(marker);
  const { bindingId } = await bind(marker, '@marker:home.example');
  await waitUntil(async () => (await onbindOf(bindingId)) !== null, 'a later binding is handled');
}

async function metricValue(name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, name);
  return (await metric.get()).values[0]?.value ?? Number.NaN;
}

async function onbindMessages(): Promise<number> {
  const info = await (await nc.jetstreamManager()).streams.info('TESSERA_EVENTS', {
    subjects_filter: 'tessera.onbind.>',
  });
  return Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-invite-int-'));
  // With Sydent's key as ed25519:0, as after an import: imported invites sign as Sydent's did.
  [nats, pg, signing] = await Promise.all([
    startNats(),
    startPostgres(),
    startStandInSigning({ longTermSeed: decodeBase64(SYDENT_SIGNING_SEED) }),
  ]);
  nc = await connectNats({ url: nats.url, name: 'invite-int-test' });
  await provision(nc);
  db = await openDatabase({ url: pg.url, poolSize: 5 }, silentLogger);
  await migrateToLatest(db, silentLogger);
  dataKeys = new DataKeys(await openDataKeySource(nc), { cacheTtlMs: 0 });
  projection = await startStandInProjection(nc, db, dataKeys);
  secretKey = randomBytes(32);
  const secretFile = join(dir, 'server.key');
  await writeFile(secretFile, `${secretKey.toString('base64')}\n`);
  const tokenFile = join(dir, 'admin.token');
  await writeFile(tokenFile, `${ADMIN_TOKEN}\n`);
  config = loadConfig({
    TESSERA_SERVER_NAME: SERVER_NAME,
    TESSERA_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
    TESSERA_GRPC_LISTEN: '127.0.0.1:0',
    TESSERA_NATS_URL: nats.url,
    TESSERA_DATABASE_URL: pg.url,
    TESSERA_SECRET_KEY_FILE: secretFile,
    TESSERA_SIGNING_ADDR: signing.target,
    TESSERA_INVITE_EXPIRY_MS: String(EXPIRY_MS),
    TESSERA_INVITE_BLOCKED_ROOMS: '!blocked:hs.example',
    TESSERA_INVITE_BLOCKED_SERVERS: 'evil.example',
    TESSERA_INVITE_BLOCKED_KEYWORDS: 'casino',
    TESSERA_INVITE_ADMIN_LISTEN: '127.0.0.1:0',
    TESSERA_INVITE_ADMIN_TOKEN_FILE: tokenFile,
  });
  server = await startInviteServer({
    config,
    log,
    nc,
    db,
    settings: loadInviteSettings(config),
    metrics,
    tls: null,
    addReadiness: () => {},
    now,
  });
  invite = createDeadlineClient(
    InviteServiceClient,
    `127.0.0.1:${server.port}`,
    ChannelCredentials.createInsecure(),
    20_000,
  );
});

after(async () => {
  invite?.close();
  await server?.stop(1_000);
  await projection?.stop();
  await signing?.stop();
  await db?.destroy();
  await pg?.stop();
  await nc?.drain();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('store-invite', () => {
  it('answers a token, the long-term key then the ephemeral one with absolute validity URLs, and a redacted name', async () => {
    const address = newEmail();
    const answer = await storeInvite(address);
    assert.match(answer.token, /^[A-Za-z0-9]{32}$/);
    assert.equal(answer.displayName, `Inv...@Exa...`);
    const [longTerm, ephemeral] = answer.publicKeys;
    assert.deepEqual(longTerm, {
      publicKey: Buffer.from(signing.publicKey).toString('base64').replace(/=+$/, ''),
      keyValidityUrl: 'https://id.example/_matrix/identity/api/v1/pubkey/isvalid',
    });
    assert.equal(ephemeral?.keyValidityUrl, 'https://id.example/_matrix/identity/api/v1/pubkey/ephemeral/isvalid');
    assert.match(ephemeral?.publicKey ?? '', /^[A-Za-z0-9_-]{43}$/);
    const stored = await storedEvent(answer.token);
    assert.equal(stored.addrKey, addrKeyOf(address));
    assert.equal(stored.ephemeralPublicKey, ephemeral?.publicKey);
    assert.equal(stored.expiresAt.getTime() - stored.at.getTime(), EXPIRY_MS);
    const mail = await sealedMail(answer.token);
    assert.deepEqual(JSON.parse(mail.fieldsJson), { room_name: 'Book club', sender_display_name: 'Inviter' });
    assert.equal(mail.senderVerified, true);
  });

  it('writes no address, token, room, sender or private key in clear to the stream', async () => {
    const address = newEmail();
    const answer = await storeInvite(address, { sender: '@secret-sender:hs.example' });
    const seed = await ephemeralSeed(answer.token);
    const message = await (await nc.jetstreamManager()).streams.getMessage('TESSERA_EVENTS', {
      last_by_subj: inviteSubject(inviteIdOf(answer.token)),
    });
    const bytes = Buffer.from(message.data);
    for (const secret of [
      address,
      normalised(address),
      answer.token,
      '@secret-sender:hs.example',
      '!room:hs.example',
      seed,
    ])
      assert.equal(bytes.includes(secret), false);
  });

  it('asks signing for the long-term key once, not per invite', async () => {
    const before = signing.publicKeyCalls();
    await storeInvite(newEmail());
    await storeInvite(newEmail());
    assert.ok(signing.publicKeyCalls() - before <= 1);
  });

  it('refuses a bound address with 400 M_THREEPID_IN_USE naming its user', async () => {
    const address = newEmail();
    await bind(address, '@bound:hs.example');
    const refused = await rejection(storeInvite(address));
    assert.deepEqual(
      [refused.errcode, refused.status, refused.body.mxid],
      ['M_THREEPID_IN_USE', 400, '@bound:hs.example'],
    );
  });

  it('withdraws an invite stored right after a bind it could not see yet, answering M_THREEPID_IN_USE', async () => {
    const address = newEmail();
    const jsm = await nc.jetstreamManager();
    const invitesStored = async () =>
      (await jsm.streams.info('TESSERA_EVENTS', { subjects_filter: 'tessera.invite.>' })).state.num_subjects ?? 0;
    const before = await invitesStored();
    // The read model lags: store-invite cannot see the bind stored just before it.
    await projection.stop();
    let restarted = false;
    try {
      await bind(address, '@racer:hs.example', { waitProjected: false });
      const storing = rejection(storeInvite(address));
      await waitUntil(async () => (await invitesStored()) > before, 'the invite is stored after the binding');
      projection = await startStandInProjection(nc, db, dataKeys);
      restarted = true;
      const refused = await storing;
      assert.deepEqual(
        [refused.errcode, refused.status, refused.body.mxid],
        ['M_THREEPID_IN_USE', 400, '@racer:hs.example'],
      );
    } finally {
      if (!restarted) projection = await startStandInProjection(nc, db, dataKeys);
    }
    const rows = await db.selectFrom('invite').select('status').where('addr_key', '=', addrKeyOf(address)).execute();
    assert.deepEqual(
      rows.map((row) => row.status),
      ['revoked'],
      'stored, then withdrawn: never mailed, never delivered',
    );
  });

  it('refuses a blocked room, homeserver or keyword with 403 M_UNAUTHORIZED, and stores nothing', async () => {
    const stored = await metricValue('tessera_invite_invites_stored_total');
    for (const request of [
      { roomId: '!blocked:hs.example' },
      { sender: '@spam:evil.example' },
      { roomId: '!room:evil.example' },
      { fields: { room_alias: '#Casino-Night:hs.example' } },
      { fields: { sender_display_name: 'CASINO bot' } },
    ]) {
      const refused = await rejection(storeInvite(newEmail(), request));
      assert.deepEqual([refused.errcode, refused.status], ['M_UNAUTHORIZED', 403], JSON.stringify(request));
    }
    assert.equal(await metricValue('tessera_invite_invites_stored_total'), stored);
  });
});

describe('ephemeral key validity', () => {
  it('is valid as soon as store-invite answers, in either base64 alphabet, padded or not; a random key is not', async () => {
    const answer = await storeInvite(newEmail());
    const key = answer.publicKeys[1]?.publicKey as string;
    assert.equal(await isValid(key), true);
    const standard = `${key.replaceAll('-', '+').replaceAll('_', '/')}=`;
    assert.equal(await isValid(standard), true);
    assert.equal(await isValid(randomBytes(32).toString('base64url')), false);
    assert.equal(await isValid(''), false);
  });

  it('is not valid once the invite expired', async () => {
    const answer = await storeInvite(newEmail());
    const key = answer.publicKeys[1]?.publicKey as string;
    assert.equal(await isValid(key), true);
    clockOffset = EXPIRY_MS;
    try {
      assert.equal(await isValid(key), false);
    } finally {
      clockOffset = 0;
    }
  });
});

describe('sign-ed25519', () => {
  it('signs {mxid, sender, token} with the ephemeral seed: it verifies with the ephemeral public key', async () => {
    const answer = await storeInvite(newEmail(), { sender: '@alice:hs.example' });
    const seed = await ephemeralSeed(answer.token);
    const { signedJson } = await invite.signEd25519({ mxid: '@new:hs.example', token: answer.token, privateKey: seed });
    const signed = JSON.parse(signedJson) as Record<string, unknown>;
    assert.deepEqual(
      { mxid: signed.mxid, sender: signed.sender, token: signed.token },
      { mxid: '@new:hs.example', sender: '@alice:hs.example', token: answer.token },
    );
    const publicKey = decodeBase64(answer.publicKeys[1]?.publicKey as string);
    assert.equal(verifyJsonSignature(signed, { entity: SERVER_NAME, keyId: 'ed25519:0', publicKey }), true);
  });

  it('answers 404 M_UNRECOGNIZED for an unknown token', async () => {
    const refused = await rejection(
      invite.signEd25519({ mxid: '@new:hs.example', token: 'unknown', privateKey: randomBytes(32).toString('base64') }),
    );
    assert.deepEqual([refused.errcode, refused.status], ['M_UNRECOGNIZED', 404]);
  });
});

describe('onbind on a new binding', () => {
  it('requests one call carrying the pending invites, each signed with the long-term key, the body too', async () => {
    const address = newEmail();
    const first = await storeInvite(address, { roomId: '!one:hs.example', sender: '@a:hs.example' });
    const second = await storeInvite(address, { roomId: '!two:hs.example', sender: '@b:hs.example' });
    await waitUntil(async () => (await projected(second.token)) === 'pending', 'the invites are projected');
    const { bindingId } = await bind(address, '@invitee:home.example');
    await waitUntil(async () => (await onbindOf(bindingId)) !== null, 'the onbind call is requested');
    const call = await onbindOf(bindingId);
    assert.ok(call);
    assert.equal(call.destination, 'home.example');
    assert.deepEqual(call.event.inviteIds, [inviteIdOf(first.token), inviteIdOf(second.token)]);
    const body = JSON.parse(call.bodyJson) as Record<string, unknown> & { invites: Record<string, unknown>[] };
    const longTerm = { entity: SERVER_NAME, keyId: LONG_TERM_KEY_ID, publicKey: signing.publicKey };
    assert.equal(verifyJsonSignature(body, longTerm), true);
    assert.deepEqual([body.medium, body.address, body.mxid], ['email', normalised(address), '@invitee:home.example']);
    assert.deepEqual(
      body.invites.map(({ room_id, sender, token, mxid }) => ({ room_id, sender, token, mxid })),
      [
        { room_id: '!one:hs.example', sender: '@a:hs.example', token: first.token, mxid: '@invitee:home.example' },
        { room_id: '!two:hs.example', sender: '@b:hs.example', token: second.token, mxid: '@invitee:home.example' },
      ],
    );
    for (const carried of body.invites) {
      const signed = carried.signed as Record<string, unknown>;
      assert.deepEqual([signed.mxid, signed.token], ['@invitee:home.example', carried.token]);
      assert.equal(verifyJsonSignature(signed, longTerm), true);
    }
    await waitUntil(async () => (await projected(first.token)) === 'claimed', 'the claims are projected');
  });

  it("signs each invite's `signed` with the long-term key it was answered with, after a rotation too", async () => {
    const address = newEmail();
    const before = await storeInvite(address);
    await waitUntil(async () => (await projected(before.token)) === 'pending', 'the invite is projected');
    const next = signing.rotate();
    try {
      const { bindingId } = await bind(address, '@rotated:home.example');
      await waitUntil(async () => (await onbindOf(bindingId)) !== null, 'the onbind call is requested');
      const call = await onbindOf(bindingId);
      assert.ok(call);
      const body = JSON.parse(call.bodyJson) as { invites: { signed: Record<string, unknown> }[] };
      const [carried] = body.invites;
      assert.ok(carried);
      const old = { entity: SERVER_NAME, keyId: LONG_TERM_KEY_ID, publicKey: signing.publicKey };
      assert.equal(verifyJsonSignature(carried.signed, old), true, 'the room names the key it was answered with');
      assert.equal(verifyJsonSignature(body, { entity: SERVER_NAME, keyId: NEXT_KEY_ID, publicKey: next }), true);
    } finally {
      signing.restore();
    }
  });

  it('counts invites stored, and reports the age of the oldest onbind call not yet delivered', async () => {
    const stored = await metricValue('tessera_invite_invites_stored_total');
    await storeInvite(newEmail());
    assert.equal(await metricValue('tessera_invite_invites_stored_total'), stored + 1);
    await waitUntil(
      async () => (await readModelOf(db).oldestRequestedOnbind()) !== null,
      'an onbind call is projected',
    );
    clockOffset = 120_000;
    try {
      assert.ok((await metricValue('tessera_invite_oldest_pending_onbind_age_seconds')) >= 120);
    } finally {
      clockOffset = 0;
    }
  });

  it('requests nothing for a binding without pending invites', async () => {
    const before = await onbindMessages();
    const { bindingId } = await bind(newEmail(), '@nobody-invited:home.example');
    await bindingsHandled();
    assert.equal(await onbindOf(bindingId), null);
    assert.equal(await onbindMessages(), before + 1);
  });

  it('marks the invites claimed when the binding comes again after a crash between its call and the claims', async () => {
    const address = newEmail();
    const answer = await storeInvite(address);
    const inviteId = inviteIdOf(answer.token);
    await waitUntil(async () => (await projected(answer.token)) === 'pending', 'the invite is projected');
    // What a crash right after the request leaves: the call stored, carrying the invite, and the
    // invite not yet marked claimed.
    const onbindId = randomBytes(12).toString('base64url');
    const store = new EventStore(nc);
    await handleCommand(store, onbindSubject(onbindId), storedOnbinds, {
      type: 'RequestOnbind',
      request: {
        onbindId,
        addrKey: addrKeyOf(address),
        bindingId: onbindId,
        inviteIds: [inviteId],
        call: await dataKeys.sealField(
          onbindDataKey(onbindId),
          INVITE_SEALED_FIELDS.call,
          OnbindCall.encode({ destination: 'home.example', bodyJson: '{}' }).finish(),
        ),
        giveUpAt: new Date(now() + 60_000),
      },
      now: new Date(now()),
    });
    assert.equal((await loadState(store, inviteSubject(inviteId), storedInvites)).state.status, 'pending');
    const projection = await watchProjection({ db, url: pg.url, projection: ASSOCIATIONS_PROJECTION, log });
    const signingClient = createDeadlineClient(
      SigningServiceClient,
      signing.target,
      ChannelCredentials.createInsecure(),
      5_000,
    );
    try {
      // The AssociationBound delivered again (its sequence: anything the projector has applied).
      await requestOnbind(
        {
          store,
          dataKeys,
          signing: signingOf(signingClient, now),
          readModel: readModelOf(db),
          projected: projection,
          projectionWaitMs: 1_000,
          maxAgeMs: 60_000,
          now,
          log,
        },
        { addrKey: addrKeyOf(address), bindingId: onbindId, seq: 1 },
      );
    } finally {
      await projection.close();
      signingClient.close();
    }
    const { state } = await loadState(store, inviteSubject(inviteId), storedInvites);
    assert.deepEqual([state.status, state.status === 'none' ? null : state.onbindId], ['claimed', onbindId]);
  });

  it('requests nothing more when every binding is delivered again', async () => {
    const before = await onbindMessages();
    let replay: RunningConsumer | undefined;
    const signingClient = createDeadlineClient(
      SigningServiceClient,
      signing.target,
      ChannelCredentials.createInsecure(),
      5_000,
    );
    const projected = await watchProjection({ db, url: pg.url, projection: ASSOCIATIONS_PROJECTION, log });
    try {
      replay = await runBindingsConsumer(
        nc,
        {
          store: new EventStore(nc),
          dataKeys,
          signing: signingOf(signingClient, now),
          readModel: readModelOf(db),
          projected,
          projectionWaitMs: 1_000,
          maxAgeMs: 60_000,
          now,
          log,
        },
        'invite-bindings-replay',
      );
      const jsm = await nc.jetstreamManager();
      await waitUntil(async () => {
        const info = await jsm.consumers.info('TESSERA_EVENTS', 'invite-bindings-replay');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      }, 'every binding is delivered again');
    } finally {
      await replay?.stop();
      await projected.close();
      signingClient.close();
    }
    assert.equal(await onbindMessages(), before);
  });
});

describe('revoke (admin API)', () => {
  it('revokes an invite by its token: its key is no longer valid once it answers, its data keys are erased, sign-ed25519 answers 404', async () => {
    const answer = await storeInvite(newEmail());
    const key = answer.publicKeys[1]?.publicKey as string;
    const seed = await ephemeralSeed(answer.token);
    assert.equal(await isValid(key), true);
    assert.deepEqual(await admin({ token: answer.token }), { status: 200, body: { revoked: 1 } });
    assert.equal(await isValid(key), false, 'not valid once revoke answered');
    const stored = await storedEvent(answer.token);
    assert.equal(
      await dataKeys.openField(inviteDataKey(stored.inviteId), INVITE_SEALED_FIELDS.secrets, stored.secrets),
      null,
    );
    assert.ok(stored.mail);
    assert.equal(
      await dataKeys.openField(inviteMailDataKey(stored.inviteId), INVITE_SEALED_FIELDS.mail, stored.mail),
      null,
    );
    const refused = await rejection(
      invite.signEd25519({ mxid: '@x:hs.example', token: answer.token, privateKey: seed }),
    );
    assert.equal(refused.errcode, 'M_UNRECOGNIZED');
    assert.deepEqual(await admin({ token: answer.token }), { status: 200, body: { revoked: 0 } });
  });

  it('revokes every pending invite of an address, which a later binding then does not carry', async () => {
    const address = newEmail();
    const one = await storeInvite(address);
    const two = await storeInvite(address);
    await waitUntil(
      async () => (await projected(two.token)) === 'pending' && (await projected(one.token)) === 'pending',
      'projected',
    );
    assert.deepEqual(await admin({ medium: 'email', address: address.toUpperCase() }), {
      status: 200,
      body: { revoked: 2 },
    });
    await waitUntil(async () => (await projected(two.token)) === 'revoked', 'the revocations are projected');
    const before = await onbindMessages();
    const { bindingId } = await bind(address, '@late:home.example');
    const marker = newEmail();
    await storeInvite(marker);
    const { bindingId: later } = await bind(marker, '@marker2:home.example');
    await waitUntil(async () => (await onbindOf(later)) !== null, 'the later binding is handled');
    assert.equal(await onbindOf(bindingId), null);
    assert.equal(await onbindMessages(), before + 1);
  });

  it('does not revoke an invite handed to an onbind call: the call carries it, signed', async () => {
    const address = newEmail();
    const answer = await storeInvite(address);
    const { bindingId } = await bind(address, '@handed:home.example');
    await waitUntil(async () => (await projected(answer.token)) === 'claimed', 'the claim is projected');
    assert.ok(await onbindOf(bindingId));
    assert.deepEqual(await admin({ token: answer.token }), { status: 200, body: { revoked: 0 } });
    assert.equal(await projected(answer.token), 'claimed');
  });

  it('leaves an invite whose onbind call was delivered alone', async () => {
    const address = newEmail();
    const answer = await storeInvite(address);
    const { bindingId } = await bind(address, '@delivered:home.example');
    await waitUntil(async () => (await onbindOf(bindingId)) !== null, 'the onbind call is requested');
    const delivered = newEvent(
      { $case: 'onbindDelivered', value: { onbindId: bindingId, attempt: 1, method: 'POST' } },
      new Date(),
    );
    await new EventStore(nc).append(subjectOf('onbind_delivery', bindingId), [delivered], { expectedSeq: 0 });
    await waitUntil(async () => (await projected(answer.token)) === 'delivered', 'the delivery is projected');
    assert.deepEqual(await admin({ token: answer.token }), { status: 200, body: { revoked: 0 } });
    const stored = await storedEvent(answer.token);
    assert.notEqual(
      await dataKeys.openField(inviteDataKey(stored.inviteId), INVITE_SEALED_FIELDS.secrets, stored.secrets),
      null,
    );
  });

  it('refuses a wrong token with 401, and a body naming neither token nor address with 400', async () => {
    assert.equal((await admin({ token: 'x' }, 'wrong-token-wrong-token')).status, 401);
    const missing = await admin({ medium: 'email' });
    assert.deepEqual([missing.status, missing.body.errcode], [400, 'M_MISSING_PARAMS']);
  });
});

describe('imports from Sydent (admin API)', () => {
  const { erin, frank } = SYDENT_INVITES;
  const importInvites = (items: unknown[]) => importing(IMPORT_PATHS.invite.invites, items);
  const importKeys = (items: unknown[]) => importing(IMPORT_PATHS.invite.ephemeralKeys, items);
  /** An invite of Sydent's shape for a fresh address: its own token, pending. */
  const sydentInvite = (more: Record<string, unknown> = {}) => ({
    ...frank,
    token: randomBytes(96).toString('base64url').replace(/[-_]/g, 'x'),
    address: newEmail(),
    ...more,
  });
  const eventsOf = async (token: string) =>
    storedInvites.codec.fromStoredEvents((await new EventStore(nc).load(inviteSubject(inviteIdOf(token)))).events);

  it('stores pending and attempted invites as Sydent had them, refusing a bad item without stopping the others', async () => {
    const pending = sydentInvite({ address: 'Pending.Invitee@Example.ORG' });
    const sentAt = frank.receivedTs + 5_000;
    const attempted = sydentInvite({ sentTs: sentAt });
    const importedFrom = now();
    const outcomes = await importInvites([
      pending,
      { ...sydentInvite(), roomId: 'not-a-room' },
      attempted,
      { ...sydentInvite(), token: 'has spaces in it, and it is long enough' },
      { ...sydentInvite(), sender: 'nobody' },
      { ...sydentInvite(), address: 'not an address' },
      { ...sydentInvite(), medium: 'msisdn' },
      { ...sydentInvite(), receivedTs: -1 },
      'not an object',
    ]);
    assert.deepEqual(
      outcomes.map(({ outcome }) => outcome),
      ['imported', 'refused', 'imported', ...Array(6).fill('refused')],
    );
    for (const { outcome, reason } of outcomes)
      if (outcome === 'refused') assert.ok(reason && reason.length > 0, 'a refusal says why');

    const [stored, ...after] = await eventsOf(pending.token);
    assert.ok(stored?.type === 'InviteStored');
    assert.deepEqual(after, []);
    const { data } = stored;
    assert.equal(data.imported, true);
    assert.equal(data.mail, null);
    assert.equal(data.ephemeralPublicKey, '');
    assert.equal(data.longTermKeyId, LONG_TERM_KEY_ID);
    assert.equal(data.addrKey, addrKeyOf('pending.invitee@example.org'));
    assert.equal(data.senderKey, secrets().userKey(frank.sender));
    assert.equal(data.at.getTime(), frank.receivedTs, 'stored at the time Sydent received it');
    // Sydent's invites never expired: ours expire TESSERA_INVITE_EXPIRY_MS after the import.
    assert.ok(data.expiresAt.getTime() >= importedFrom + EXPIRY_MS && data.expiresAt.getTime() <= now() + EXPIRY_MS);
    const opened = await dataKeys.openField(inviteDataKey(data.inviteId), INVITE_SEALED_FIELDS.secrets, data.secrets);
    assert.ok(opened);
    assert.deepEqual(InviteSecrets.toJSON(InviteSecrets.decode(opened)), {
      address: 'Pending.Invitee@Example.ORG',
      normalisedAddress: 'pending.invitee@example.org',
      token: pending.token,
      roomId: frank.roomId,
      sender: frank.sender,
    });

    const [, claimed] = await eventsOf(attempted.token);
    assert.deepEqual(claimed, {
      type: 'InviteClaimed',
      data: { inviteId: inviteIdOf(attempted.token), onbindId: '', at: new Date(sentAt) },
    });
    assert.equal(await projected(pending.token), 'pending');
    assert.equal(await projected(attempted.token), 'claimed', 'projected once the import answers');
  });

  it('writes no address, token, room or sender in clear to the stream', async () => {
    const item = sydentInvite({ roomId: '!secret-room:hs.example', sender: '@secret-sender:hs.example' });
    await importInvites([item]);
    const message = await (await nc.jetstreamManager()).streams.getMessage('TESSERA_EVENTS', {
      last_by_subj: inviteSubject(inviteIdOf(item.token)),
    });
    const bytes = Buffer.from(message.data);
    for (const secret of [item.address, normalised(item.address), item.token, item.roomId, item.sender])
      assert.equal(bytes.includes(secret), false);
  });

  it('answers present for everything when run again, appending nothing and making no data key', async () => {
    const items = [sydentInvite(), sydentInvite({ sentTs: frank.receivedTs }), { ...sydentInvite(), roomId: '' }];
    const first = await storeSequences();
    assert.deepEqual(
      (await importInvites(items)).map(({ outcome }) => outcome),
      ['imported', 'imported', 'refused'],
    );
    const before = await storeSequences();
    assert.equal(before.dataKeys - first.dataKeys, 2, 'one data key per invite: no mail key');
    assert.deepEqual(
      (await importInvites(items)).map(({ outcome }) => outcome),
      ['present', 'present', 'refused'],
    );
    assert.deepEqual(await storeSequences(), before);
  });

  it('signs with sign-ed25519 for an imported invite, claimed or pending: the signature Sydent gave', async () => {
    await importInvites([erin, frank]);
    const { signedJson } = await invite.signEd25519({
      mxid: ERIN_SIGN_ED25519.mxid,
      token: erin.token,
      privateKey: ERIN_EPHEMERAL_PRIVATE_KEY,
    });
    const signed = JSON.parse(signedJson) as { mxid: string; sender: string; token: string; signatures: object };
    assert.deepEqual([signed.mxid, signed.sender, signed.token], [ERIN_SIGN_ED25519.mxid, erin.sender, erin.token]);
    assert.deepEqual(signed.signatures, { [SERVER_NAME]: { [LONG_TERM_KEY_ID]: ERIN_SIGN_ED25519.signature } });
    assert.equal(await projected(erin.token), 'claimed');

    const pending = JSON.parse(
      (
        await invite.signEd25519({
          mxid: FRANK_ONBIND.mxid,
          token: frank.token,
          privateKey: ERIN_EPHEMERAL_PRIVATE_KEY,
        })
      ).signedJson,
    ) as { sender: string };
    assert.equal(pending.sender, frank.sender);
  });

  it('delivers a pending imported invite on the next binding of its address, signed with the recorded key, but not on an imported binding', async () => {
    await importInvites([frank]);
    assert.equal(await projected(frank.token), 'pending');
    const imported = await bind(frank.address, '@frank-history:hs.example', {
      source: BindingSource.BINDING_SOURCE_IMPORT,
    });
    await bindingsHandled();
    assert.equal(await onbindOf(imported.bindingId), null, 'importing history calls no homeserver');
    assert.equal(await projected(frank.token), 'pending');

    const { bindingId } = await bind(frank.address, FRANK_ONBIND.mxid);
    await waitUntil(async () => (await onbindOf(bindingId)) !== null, 'the onbind call is requested');
    const call = await onbindOf(bindingId);
    assert.ok(call);
    assert.deepEqual(call.event.inviteIds, [inviteIdOf(frank.token)]);
    const body = JSON.parse(call.bodyJson) as { invites: Record<string, unknown>[] };
    const [carried] = body.invites;
    assert.ok(carried);
    assert.deepEqual(
      [carried.address, carried.room_id, carried.sender, carried.token, carried.mxid],
      [frank.address, frank.roomId, frank.sender, frank.token, FRANK_ONBIND.mxid],
    );
    assert.deepEqual((carried.signed as { signatures: object }).signatures, {
      [SERVER_NAME]: { [LONG_TERM_KEY_ID]: FRANK_ONBIND.signedSignature },
    });
    const sydentKey = { entity: SERVER_NAME, keyId: LONG_TERM_KEY_ID, publicKey: signing.publicKey };
    assert.equal(verifyJsonSignature(body, sydentKey), true);
    await waitUntil(async () => (await projected(frank.token)) === 'claimed', 'the claim is projected');
  });

  it('never delivers an imported invite that Sydent had attempted', async () => {
    const attempted = sydentInvite({ sentTs: frank.receivedTs });
    await importInvites([attempted]);
    const { bindingId } = await bind(attempted.address, '@attempted:hs.example');
    await bindingsHandled();
    assert.equal(await onbindOf(bindingId), null);
    assert.equal(await projected(attempted.token), 'claimed');
  });

  it('keeps imported ephemeral keys valid for good, in either alphabet, and refuses what is no key', async () => {
    const before = await storeSequences();
    const outcomes = await importKeys([
      ...SYDENT_EPHEMERAL_KEYS.map((publicKey) => ({ publicKey })),
      { publicKey: 'not base64!' },
      { publicKey: randomBytes(16).toString('base64url') },
      { publicKey: '' },
      {},
    ]);
    assert.deepEqual(
      outcomes.map(({ outcome }) => outcome),
      [...Array(4).fill('imported'), ...Array(4).fill('refused')],
    );
    assert.equal((await storeSequences()).dataKeys, before.dataKeys, 'public keys: no data key');
    const standard = (key: string) => Buffer.from(key, 'base64url').toString('base64');
    for (const key of SYDENT_EPHEMERAL_KEYS) {
      assert.equal(await isValid(key), true, key);
      assert.equal(await isValid(standard(key)), true, `${key} in standard base64, padded`);
    }
    clockOffset = 10 * 365 * 86_400_000;
    try {
      assert.equal(await isValid(SYDENT_EPHEMERAL_KEYS[0] ?? ''), true, 'ten years on');
    } finally {
      clockOffset = 0;
    }
    assert.equal(await isValid(randomBytes(32).toString('base64url')), false);
  });

  it('answers present for a batch of keys imported already, appending nothing', async () => {
    const items = [{ publicKey: randomBytes(32).toString('base64url') }, { publicKey: 'bad' }];
    assert.deepEqual(
      (await importKeys(items)).map(({ outcome }) => outcome),
      ['imported', 'refused'],
    );
    const before = await storeSequences();
    assert.deepEqual(
      (await importKeys(items)).map(({ outcome }) => outcome),
      ['present', 'refused'],
    );
    assert.deepEqual(await storeSequences(), before);
    // Cut into batches another way (another batch size, a database with one more key): the keys
    // known already are present, and only the new one is appended.
    const added = randomBytes(32).toString('base64url');
    assert.deepEqual(
      (await importKeys([{ publicKey: added }, items[0]])).map(({ outcome }) => outcome),
      ['imported', 'present'],
    );
    assert.equal((await storeSequences()).events, before.events + 1);
    assert.equal(await isValid(added), true);
  });

  it('never finds an empty ephemeral key valid, which imported invites have', async () => {
    await importInvites([sydentInvite()]);
    assert.equal(await isValid(''), false);
    assert.equal(await isValid('='), false);
  });

  it('refuses a batch of more than 1,000 items with 413, a body without items with 400, a wrong token with 401', async () => {
    const tooMany = await admin({ items: Array(1_001).fill({}) }, ADMIN_TOKEN, IMPORT_PATHS.invite.invites);
    assert.deepEqual([tooMany.status, tooMany.body.errcode], [413, 'M_TOO_LARGE']);
    const noItems = await admin({ invites: [] }, ADMIN_TOKEN, IMPORT_PATHS.invite.ephemeralKeys);
    assert.deepEqual([noItems.status, noItems.body.errcode], [400, 'M_BAD_JSON']);
    const wrongToken = await admin({ items: [] }, 'wrong-token-wrong-token', IMPORT_PATHS.invite.invites);
    assert.equal(wrongToken.status, 401);
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { verifyJsonSignature } from '@tessera/canonical-json';
import type { Database } from '@tessera/db';
import { TesseraError, toMatrixError } from '@tessera/errors';
import { connectNats, DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { indexHashes } from '@tessera/lookup-hash';
import { provision } from '@tessera/nats-access';
import type { DirectoryServiceClient } from '@tessera/proto/tessera/directory/v1/directory';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import { createSecrets } from '@tessera/server-secret';
import { createLogger, type DeadlineClient } from '@tessera/service-kit';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey } from '@tessera/spec-params';
import { type FakeHomeserver, startNats } from '@tessera/test-harness';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { type DirectoryTestbed, startDirectoryTestbed } from '../test-support/directory-testbed.js';
import type { StandInProjector } from '../test-support/stand-in-projector.js';
import { SERVER_NAME, type StandIns } from '../test-support/stand-ins.js';
import { ADMIN_PATHS } from './admin/admin-paths.js';
import { assocSubject } from './binder.js';
import type { DirectoryServer } from './directory-server.js';
import { storedAssociations } from './events/association-events.js';
import { startPeppers } from './peppers.js';
import { readModelOf } from './read-model.js';

const GRACE_MS = 60_000;
const MAX_ADDRESSES = 5;
const UNBIND_URI = '/_matrix/identity/v2/3pid/unbind';

let bed: DirectoryTestbed;
let nc: NatsConnection;
let db: Kysely<Database>;
let standIns: StandIns;
let projector: StandInProjector;
let homeserver: FakeHomeserver;
let server: DirectoryServer;
let directory: DeadlineClient<DirectoryServiceClient>;
let secretKey: Buffer;
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
const log = createLogger('directory', (process.env.TEST_LOG_LEVEL as 'fatal') ?? 'fatal');

async function rejection(
  promise: Promise<unknown>,
): Promise<{ errcode: string; status: number; body: Record<string, unknown> }> {
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
type Outcome = { $case: 'mappings'; value: unknown } | { $case: 'error'; value: { errcode: string } } | undefined;
const errcodeOf = (outcome: Outcome) => (outcome?.$case === 'error' ? outcome.value.errcode : undefined);

const newEmail = () => `user-${randomBytes(6).toString('hex')}@example.org`;
/** A validated session the session stand-in answers for. */
function validatedSession(address: string, clientLowercaseAddress = '') {
  const sid = randomBytes(8).toString('hex');
  const clientSecret = randomBytes(8).toString('hex');
  standIns.sessions.set(sid, {
    secret: clientSecret,
    answer: { medium: Medium.MEDIUM_EMAIL, address, validatedAt: now(), clientLowercaseAddress },
  });
  return { sid, clientSecret };
}
const bind = (address: string, mxid: string) => directory.bind({ ...validatedSession(address), mxid });
const lookupOne = async (address: string) =>
  (await directory.lookup({ threepids: [{ medium: Medium.MEDIUM_EMAIL, address }], mxidOnly: false })).results[0];
/** The sealed association of each AssociationBound of the 3PID, oldest first. */
async function boundEvents(address: string) {
  const addrKey = createSecrets(secretKey).addrKey('email', address);
  const { events } = await new EventStore(nc).load(assocSubject(addrKey));
  return storedAssociations.codec
    .fromStoredEvents(events)
    .flatMap((event) => (event.type === 'AssociationBound' ? [event.data] : []));
}
const opens = async (data: Awaited<ReturnType<typeof boundEvents>>[number]) =>
  (await new DataKeys(await openDataKeySource(nc)).openField(
    bindingDataKey(data.addrKey, data.bindingId),
    ASSOCIATION_SEALED_FIELDS.association,
    data.association,
  )) !== null;

before(async () => {
  bed = await startDirectoryTestbed({ now, maxAddresses: MAX_ADDRESSES, graceMs: GRACE_MS });
  ({ nc, db, standIns, projector, homeserver, server, directory, secretKey } = bed);
});

after(async () => {
  await bed?.stop();
});

describe('bind', () => {
  it('answers the association signed with the signing key, and lookup finds it at once', async () => {
    const address = newEmail();
    const before = now();
    const { associationJson } = await bind(address, '@alice:hs.example');
    const association = JSON.parse(associationJson) as Record<string, unknown>;
    assert.equal(
      verifyJsonSignature(association, { entity: SERVER_NAME, keyId: 'ed25519:0', publicKey: standIns.publicKey }),
      true,
    );
    assert.equal(association.address, address);
    assert.equal(association.medium, 'email');
    assert.equal(association.mxid, '@alice:hs.example');
    assert.ok((association.ts as number) >= before);
    assert.equal(association.not_before, association.ts);
    assert.equal(association.not_after, (association.ts as number) + 100 * 365 * 86_400_000);
    assert.deepEqual(await lookupOne(address), { associationJson, mxid: '@alice:hs.example' });
  });

  it('stores neither the address nor the user ID in the stream in plaintext', async () => {
    const address = newEmail();
    const mxid = `@secret-${randomBytes(4).toString('hex')}:hs.example`;
    await bind(address, mxid);
    const addrKey = createSecrets(secretKey).addrKey('email', address);
    const message = await (await nc.jetstreamManager()).streams.getMessage('TESSERA_EVENTS', {
      last_by_subj: assocSubject(addrKey),
    });
    const bytes = Buffer.from(message.data);
    assert.equal(bytes.includes(address), false);
    assert.equal(bytes.includes(mxid), false);
    assert.equal(bytes.includes(mxid.slice(1).split(':')[0] as string), false);
  });

  it("replaces another user's binding and erases the replaced binding's data key", async () => {
    const address = newEmail();
    await bind(address, '@alice:hs.example');
    await bind(address, '@bob:hs.example');
    assert.equal((await lookupOne(address))?.mxid, '@bob:hs.example');
    const [first, second] = await boundEvents(address);
    assert.ok(first && second);
    assert.equal(await opens(first), false, "the first binding's key is erased");
    assert.equal(await opens(second), true);
  });

  it("passes session's refusals on: unvalidated, expired, unknown", async () => {
    standIns.sessions.set('unvalidated', { error: new TesseraError('M_SESSION_NOT_VALIDATED', 'not validated') });
    standIns.sessions.set('expired', { error: new TesseraError('M_SESSION_EXPIRED', 'expired') });
    const ask = (sid: string) => directory.bind({ sid, clientSecret: 'x', mxid: '@a:hs.example' });
    assert.equal((await rejection(ask('unvalidated'))).errcode, 'M_SESSION_NOT_VALIDATED');
    assert.equal((await rejection(ask('expired'))).errcode, 'M_SESSION_EXPIRED');
    const unknown = await rejection(ask('nobody'));
    assert.deepEqual([unknown.errcode, unknown.status], ['M_NO_VALID_SESSION', 404]);
  });

  it('answers 503 M_UNKNOWN when the projector does not apply the bind in time; it is stored, and visible later', async () => {
    const address = newEmail();
    projector.paused = true;
    try {
      const refused = await rejection(bind(address, '@late:hs.example'));
      assert.deepEqual([refused.errcode, refused.status], ['M_UNKNOWN', 503]);
      assert.match(refused.body.error as string, /stored but not yet visible/);
    } finally {
      projector.paused = false;
    }
    await waitUntil(async () => (await lookupOne(address))?.mxid === '@late:hs.example', 'the bind becomes visible');
  });
});

describe('unbind', () => {
  it('ends the binding with a session for that 3PID, and erases its data key', async () => {
    const address = newEmail();
    await bind(address, '@carol:hs.example');
    await directory.unbind({
      medium: Medium.MEDIUM_EMAIL,
      address,
      mxid: '@carol:hs.example',
      proof: { $case: 'session', value: validatedSession(address) },
    });
    assert.deepEqual(await lookupOne(address), { associationJson: '', mxid: '' });
    const [only] = await boundEvents(address);
    assert.ok(only);
    assert.equal(await opens(only), false);
  });

  it('refuses a session of another 3PID with 403 M_FORBIDDEN, and changes nothing', async () => {
    const address = newEmail();
    await bind(address, '@dave:hs.example');
    const refused = await rejection(
      directory.unbind({
        medium: Medium.MEDIUM_EMAIL,
        address,
        mxid: '@dave:hs.example',
        proof: { $case: 'session', value: validatedSession(newEmail()) },
      }),
    );
    assert.deepEqual([refused.errcode, refused.status], ['M_FORBIDDEN', 403]);
    assert.equal((await lookupOne(address))?.mxid, '@dave:hs.example');
  });

  it('succeeds and changes nothing when the 3PID is bound to another user', async () => {
    const address = newEmail();
    await bind(address, '@erin:hs.example');
    await directory.unbind({
      medium: Medium.MEDIUM_EMAIL,
      address,
      mxid: '@someone-else:hs.example',
      proof: { $case: 'session', value: validatedSession(address) },
    });
    assert.equal((await lookupOne(address))?.mxid, '@erin:hs.example');
  });

  const signedUnbind = (
    address: string,
    mxid: string,
    overrides: { content?: unknown; privateKey?: ReturnType<typeof generateKeyPairSync>['privateKey'] } = {},
  ) => {
    const content = { mxid, threepid: { medium: 'email', address } };
    const authorization = homeserver.signRequest({
      method: 'POST',
      uri: UNBIND_URI,
      destinationIs: SERVER_NAME,
      content: overrides.content ?? content,
      ...(overrides.privateKey ? { privateKey: overrides.privateKey } : {}),
    });
    return directory.unbind({
      medium: Medium.MEDIUM_EMAIL,
      address,
      mxid,
      proof: {
        $case: 'homeserver',
        value: { method: 'POST', uri: UNBIND_URI, authorization, contentJson: JSON.stringify(content) },
      },
    });
  };

  it("ends the binding on its homeserver's X-Matrix signature", async () => {
    const address = newEmail();
    const mxid = `@frank:${homeserver.serverName}`;
    await bind(address, mxid);
    await signedUnbind(address, mxid);
    assert.deepEqual(await lookupOne(address), { associationJson: '', mxid: '' });
  });

  it('refuses a forged signature with 403, and keeps the binding', async () => {
    const address = newEmail();
    const mxid = `@grace:${homeserver.serverName}`;
    await bind(address, mxid);
    const { privateKey } = generateKeyPairSync('ed25519');
    const refused = await rejection(signedUnbind(address, mxid, { privateKey }));
    assert.deepEqual([refused.errcode, refused.status], ['M_FORBIDDEN', 403]);
    const tampered = await rejection(
      signedUnbind(address, mxid, { content: { mxid, threepid: { medium: 'email', address: 'other@example.org' } } }),
    );
    assert.deepEqual([tampered.errcode, tampered.status], ['M_FORBIDDEN', 403]);
    assert.equal((await lookupOne(address))?.mxid, mxid);
  });

  it("refuses an origin that is not the user's server with 403 M_FORBIDDEN", async () => {
    const address = newEmail();
    await bind(address, '@heidi:elsewhere.example');
    const refused = await rejection(signedUnbind(address, '@heidi:elsewhere.example'));
    assert.deepEqual(
      [refused.errcode, refused.status, refused.body.error],
      ['M_FORBIDDEN', 403, 'Origin server name does not match mxid'],
    );
    assert.equal((await lookupOne(address))?.mxid, '@heidi:elsewhere.example');
  });
});

describe('lookups', () => {
  it('answers several 3PIDs in the order asked, "" where none is bound, and only associations valid now; with mxid_only no signed JSON', async () => {
    const [a, b] = [newEmail(), newEmail()];
    await bind(a, '@ivan:hs.example');
    await bind(b, '@judy:hs.example');
    const threepids = [b, newEmail(), a].map((address) => ({ medium: Medium.MEDIUM_EMAIL, address }));
    for (const mxidOnly of [false, true]) {
      const { results } = await directory.lookup({ threepids, mxidOnly });
      assert.deepEqual(
        results.map((r) => r.mxid),
        ['@judy:hs.example', '', '@ivan:hs.example'],
      );
      assert.deepEqual(
        results.map((r) => (r.associationJson === '' ? '' : (JSON.parse(r.associationJson) as { mxid: string }).mxid)),
        mxidOnly ? ['', '', ''] : ['@judy:hs.example', '', '@ivan:hs.example'],
      );
    }
    const addrKey = createSecrets(secretKey).addrKey('email', a);
    await db
      .updateTable('association')
      .set({ not_before: now() + 3_600_000 })
      .where('addr_key', '=', addrKey)
      .execute();
    assert.equal((await lookupOne(a))?.mxid, '');
    const mxidOnly = await directory.lookup({
      threepids: [{ medium: Medium.MEDIUM_EMAIL, address: a }],
      mxidOnly: true,
    });
    assert.deepEqual(mxidOnly.results, [{ associationJson: '', mxid: '' }]);
  });

  it('answers hashed lookups with sha256 and none, each query on its own', async () => {
    const address = newEmail();
    await bind(address, '@kim:hs.example');
    const { lookupPepper, algorithms } = await directory.hashDetails({});
    assert.deepEqual(algorithms, ['sha256', 'none']);
    const [hash] = indexHashes('email', address, lookupPepper);
    const { answers } = await directory.hashedLookup({
      queries: [
        { algorithm: 'sha256', pepper: lookupPepper, addresses: [hash as string, 'unknown-hash'] },
        { algorithm: 'none', pepper: lookupPepper, addresses: [`${address.toUpperCase()} email`, 'x@y.org email'] },
        { algorithm: 'none', pepper: lookupPepper, addresses: ['no-medium'] },
        { algorithm: 'sha256', pepper: 'stale', addresses: [hash as string] },
        { algorithm: 'md5', pepper: lookupPepper, addresses: [] },
        { algorithm: 'sha256', pepper: lookupPepper, addresses: Array(MAX_ADDRESSES + 1).fill('h') },
      ],
    });
    const outcome = (i: number) => answers[i]?.outcome;
    assert.deepEqual(outcome(0), { $case: 'mappings', value: { mxids: ['@kim:hs.example', ''] } });
    assert.deepEqual(outcome(1), { $case: 'mappings', value: { mxids: ['@kim:hs.example', ''] } });
    assert.equal(errcodeOf(outcome(2)), 'M_INVALID_PARAM');
    assert.deepEqual(outcome(3), {
      $case: 'error',
      value: { errcode: 'M_INVALID_PEPPER', error: 'unknown or expired pepper', lookupPepper, algorithm: 'sha256' },
    });
    assert.equal(errcodeOf(outcome(4)), 'M_INVALID_PARAM');
    assert.equal(errcodeOf(outcome(5)), 'M_TOO_LARGE');
  });
});

describe('peppers', () => {
  it('offers a new pepper once its index is complete, accepts the old one during the grace, then retires it', async () => {
    const address = newEmail();
    await bind(address, '@leo:hs.example');
    const old = (await directory.hashDetails({})).lookupPepper;
    await server.peppers.rotate();
    await waitUntil(async () => (await directory.hashDetails({})).lookupPepper !== old, 'the new pepper is offered');
    const current = (await directory.hashDetails({})).lookupPepper;
    const query = (pepper: string) =>
      directory.hashedLookup({
        queries: [{ algorithm: 'sha256', pepper, addresses: indexHashes('email', address, pepper) }],
      });
    const found = (answer: Awaited<ReturnType<typeof query>>) => answer.answers[0]?.outcome;
    assert.deepEqual(found(await query(current)), { $case: 'mappings', value: { mxids: ['@leo:hs.example'] } });
    assert.deepEqual(found(await query(old)), { $case: 'mappings', value: { mxids: ['@leo:hs.example'] } });

    clockOffset += GRACE_MS;
    await server.peppers.tick();
    await waitUntil(
      async () => (await db.selectFrom('lookup_pepper').select('pepper').execute()).length === 1,
      'the old pepper is retired and dropped',
    );
    await server.peppers.refresh();
    const refused = found(await query(old));
    assert.equal(errcodeOf(refused), 'M_INVALID_PEPPER');
    assert.deepEqual(found(await query(current)), { $case: 'mappings', value: { mxids: ['@leo:hs.example'] } });
  });

  it('ends with one pepper when two replicas start on an empty stream at once', async () => {
    const other = await startNats();
    const otherNc = await connectNats({ url: other.url, name: 'pepper-race' });
    try {
      await provision(otherNc);
      const store = new EventStore(otherNc);
      const options = { store, readModel: readModelOf(db), now, rotateIntervalMs: 0, graceMs: GRACE_MS, log };
      const replicas = await Promise.all([startPeppers(options), startPeppers(options), startPeppers(options)]);
      for (const replica of replicas) replica.close();
      const { events } = await store.load('tessera.pepper.lookup');
      assert.equal(events.filter((event) => event.payload?.$case === 'pepperCreated').length, 1);
    } finally {
      await otherNc.drain();
      await other.stop();
    }
  });
});

describe('the admin API', () => {
  const admin = (path: string, body: string, token?: string | null) => bed.admin(path, body, token);

  it('refuses a request without the token', async () => {
    const refused = await admin(ADMIN_PATHS.bind, '{}', null);
    assert.deepEqual([refused.status, refused.body.errcode], [401, 'M_UNAUTHORIZED']);
  });

  it('binds (normalising the address) and unbinds', async () => {
    const address = newEmail();
    const bound = await admin(
      ADMIN_PATHS.bind,
      JSON.stringify({ medium: 'email', address: address.toUpperCase(), mxid: '@mia:hs.example' }),
    );
    assert.equal(bound.status, 200);
    assert.equal(bound.body.address, address);
    assert.equal(verifyJsonSignature(bound.body, { entity: SERVER_NAME, publicKey: standIns.publicKey }), true);
    assert.equal((await lookupOne(address))?.mxid, '@mia:hs.example');
    const unbound = await admin(ADMIN_PATHS.unbind, JSON.stringify({ medium: 'email', address }));
    assert.deepEqual(unbound, { status: 200, body: {} });
    assert.equal((await lookupOne(address))?.mxid, '');
  });

  it('answers bad input with a Matrix error', async () => {
    for (const [body, errcode] of [
      ['not json', 'M_NOT_JSON'],
      ['[]', 'M_BAD_JSON'],
      ['{"medium":"email"}', 'M_MISSING_PARAMS'],
      ['{"medium":"email","address":"not-an-email","mxid":"@a:b"}', 'M_INVALID_EMAIL'],
      ['{"medium":"email","address":"a@b.org","mxid":"nobody"}', 'M_INVALID_PARAM'],
    ]) {
      const refused = await admin(ADMIN_PATHS.bind, body as string);
      assert.equal(refused.body.errcode, errcode, body);
      assert.ok(refused.status >= 400 && refused.status < 500);
    }
  });

  it('imports JSON lines, signing in batches, and names the failing lines', async () => {
    const addresses = Array.from({ length: 3 }, newEmail);
    const lines = [
      JSON.stringify({ medium: 'email', address: addresses[0], mxid: '@n0:hs.example' }),
      'not json',
      JSON.stringify({ medium: 'email', address: addresses[1], mxid: '@n1:hs.example', ts: 1_600_000_000_000 }),
      '',
      JSON.stringify({ medium: 'fax', address: '123', mxid: '@n2:hs.example' }),
      JSON.stringify({ medium: 'email', address: addresses[2], mxid: '@n2:hs.example' }),
    ];
    const batchesBefore = standIns.signBatchCalls();
    const answer = await admin(ADMIN_PATHS.import, lines.join('\n'));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.imported, 3);
    assert.equal(answer.body.failed, 2);
    assert.deepEqual(
      (answer.body.failures as { line: number; errcode: string }[]).map(({ line, errcode }) => [line, errcode]),
      [
        [2, 'M_NOT_JSON'],
        [5, 'M_UNRECOGNIZED'],
      ],
    );
    assert.equal(standIns.signBatchCalls(), batchesBefore + 1);
    const { results } = await directory.lookup({
      threepids: addresses.map((address) => ({ medium: Medium.MEDIUM_EMAIL, address })),
      mxidOnly: false,
    });
    assert.deepEqual(
      results.map((r) => r.mxid),
      ['@n0:hs.example', '@n1:hs.example', '@n2:hs.example'],
    );
    assert.equal((JSON.parse(results[1]?.associationJson ?? '{}') as { ts: number }).ts, 1_600_000_000_000);
  });
});

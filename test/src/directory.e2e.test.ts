import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from './system/flows.js';
import { type ServiceReplica, startGatewayReplica, startGrpcReplica } from './system/gateway-replica.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import {
  eventually,
  freePort,
  natsStoreBytes,
  type RunningSystem,
  removeDataDir,
  startSystem,
} from './system/running-system.js';

// Issue 9 on the whole running system: bind, unbind and every lookup through the gateway, the
// directory, the projector's read model in Postgres, session and signing. Every lookup after a
// bind or an unbind is made at once, without retrying: read-your-writes is the promise under test.
const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };
const replicas: ServiceReplica[] = [];
// Every address and user ID used here, searched for in the stream and the logs at the end.
const privateValues = new Set<string>();
// The directory's admin API (off by default), for pepper rotation on command.
let adminUrl: string;
// How long an older pepper is still accepted once a newer one is offered (the default is 10 minutes).
const PEPPER_GRACE_MS = 3_000;

before(async () => {
  world = await startOutsideWorld();
  const adminPort = await freePort();
  adminUrl = `http://127.0.0.1:${adminPort}`;
  system = await startSystem({
    env: {
      ...world.env,
      TESSERA_RATE_LIMITS: 'off',
      TESSERA_DIRECTORY_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      TESSERA_PEPPER_GRACE_MS: String(PEPPER_GRACE_MS),
    },
  });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  user = await newUser();
});
after(async () => {
  for (const replica of replicas) replica.stop();
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

type Association = {
  address: string;
  medium: string;
  mxid: string;
  ts: number;
  not_before: number;
  not_after: number;
  signatures: Record<string, Record<string, string>>;
};
type Session = { sid: string; clientSecret: string; address: string };

const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const YEAR_MS = 365 * 86_400_000;
let addresses = 0;

async function newUser() {
  const registered = await registerUser(call, world);
  privateValues.add(registered.userId).add(registered.token);
  return registered;
}

/** A fresh email address, typed with capitals as people do; `normalised` is its case-folded form. */
function newAddress(local = 'Someone') {
  const typed = `${local}.${++addresses}.${Date.now()}@Example.ORG`;
  privateValues.add(typed).add(typed.toLowerCase());
  return { typed, normalised: typed.toLowerCase() };
}

/** A validation session for `address`, validated through the mail's link unless asked not to. */
async function emailSession(address: string, { validate = true, token = user.token } = {}): Promise<Session> {
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const requested = await call<{ sid: string }>(
    `${V2}/validate/email/requestToken`,
    json({ client_secret: clientSecret, email: address, send_attempt: 1 }, bearer(token)),
  );
  assert.equal(requested.status, 200, requested.text);
  if (validate) {
    // The mail goes to the address lower-cased (the mail catcher records it so).
    const { link } = await mailTo(world.smtp, address.toLowerCase(), sentAfter);
    assert.equal((await fetch(link)).status, 200);
  }
  return { sid: requested.body.sid, clientSecret, address };
}

function bind(session: Session, mxid: string, { token = user.token, base = '' } = {}) {
  return call<Association & { errcode?: string }>(
    `${base}${V2}/3pid/bind`,
    json({ sid: session.sid, client_secret: session.clientSecret, mxid }, bearer(token)),
  );
}

async function boundAssociation(session: Session, mxid = user.userId) {
  const bound = await bind(session, mxid);
  assert.equal(bound.status, 200, bound.text);
  return bound.body;
}

const v1Lookup = (address: string, base = '') =>
  call<Partial<Association>>(`${base}${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`);

async function hashDetails(base = '') {
  const details = await call<{ lookup_pepper: string; algorithms: string[] }>(`${base}${V2}/hash_details`, {
    headers: bearer(user.token),
  });
  assert.equal(details.status, 200, details.text);
  return details.body;
}

/** The spec's hash, written out here rather than taken from Tessera's code. */
const sha256Hash = (address: string, medium: string, pepper: string) =>
  createHash('sha256').update(`${address} ${medium} ${pepper}`, 'utf8').digest('base64url');

function v2Lookup(body: Record<string, unknown>, base = '') {
  return call<{ mappings: Record<string, string>; errcode?: string; lookup_pepper?: string; algorithm?: string }>(
    `${base}${V2}/lookup`,
    json(body, bearer(user.token)),
  );
}

/** What every lookup answers for `address` right now: the v1 answer, bulk_lookup's and both v2 ones. */
async function everyLookup(address: string, base = '') {
  const v1 = await v1Lookup(address, base);
  assert.equal(v1.status, 200, v1.text);
  const bulk = await call<{ threepids: string[][] }>(
    `${base}${V1}/bulk_lookup`,
    json({ threepids: [['email', address]] }),
  );
  assert.equal(bulk.status, 200, bulk.text);
  const { lookup_pepper: pepper } = await hashDetails(base);
  const hash = sha256Hash(address.toLowerCase(), 'email', pepper);
  const hashed = await v2Lookup({ algorithm: 'sha256', pepper, addresses: [hash] }, base);
  assert.equal(hashed.status, 200, hashed.text);
  const clear = `${address} email`;
  const none = await v2Lookup({ algorithm: 'none', pepper, addresses: [clear] }, base);
  assert.equal(none.status, 200, none.text);
  return {
    v1: v1.body,
    bulk: bulk.body.threepids,
    sha256: hashed.body.mappings[hash],
    none: none.body.mappings[clear],
  };
}

function unbindBySession(session: Session, mxid: string, base = '') {
  return call<{ errcode?: string }>(
    `${base}${V2}/3pid/unbind`,
    json({
      sid: session.sid,
      client_secret: session.clientSecret,
      mxid,
      threepid: { medium: 'email', address: session.address },
    }),
  );
}

describe('bind', () => {
  it('answers the signed association of the case-folded address, verifiable with the key pubkey publishes', async () => {
    const { typed, normalised } = newAddress('Signed');
    const before = Date.now();
    const association = await boundAssociation(await emailSession(typed));
    assert.deepEqual([association.address, association.medium, association.mxid], [normalised, 'email', user.userId]);
    assert.ok(association.ts >= before - 1_000 && association.ts <= Date.now() + 1_000, 'ts is now, in milliseconds');
    assert.equal(association.not_before, association.ts);
    assert.ok(association.not_after >= association.ts + 99 * YEAR_MS, 'valid for about a hundred years, as Sydent');

    const [serverName, ...others] = Object.keys(association.signatures);
    assert.ok(serverName);
    assert.deepEqual(others, []);
    const key = await call<{ public_key: string }>(`${V2}/pubkey/ed25519:0`);
    assert.equal(key.status, 200);
    assert.ok(
      verifyJsonSignature(association, {
        entity: serverName,
        keyId: 'ed25519:0',
        publicKey: decodeBase64(key.body.public_key),
      }),
      'the signature verifies with the published key',
    );
  });

  it('is found at once by v1 lookup, bulk_lookup and both v2 algorithms, and not found at once after unbind', async () => {
    const { typed, normalised } = newAddress('Found');
    const session = await emailSession(typed);
    const association = await boundAssociation(session);

    const found = await everyLookup(typed);
    assert.deepEqual(found.v1, association, 'v1 lookup answers the signed association as bind did');
    assert.deepEqual(found.bulk, [['email', typed, user.userId]]);
    assert.equal(found.sha256, user.userId);
    assert.equal(found.none, user.userId);
    assert.equal((await v1Lookup(normalised)).body.mxid, user.userId, 'the case-folded form finds it too');

    const unbound = await unbindBySession(session, user.userId);
    assert.deepEqual([unbound.status, unbound.body], [200, {}]);
    const gone = await everyLookup(typed);
    assert.deepEqual(gone, { v1: {}, bulk: [], sha256: undefined, none: undefined });
  });

  it('works on the v1 tree without an access token', async () => {
    const { typed } = newAddress('Legacy');
    const session = await emailSession(typed);
    const bound = await call<Association>(
      `${V1}/3pid/bind`,
      json({ sid: session.sid, client_secret: session.clientSecret, mxid: user.userId }),
    );
    assert.equal(bound.status, 200, bound.text);
    assert.equal((await v1Lookup(typed)).body.mxid, user.userId);
    const unbound = await call(
      `${V1}/3pid/unbind`,
      json({
        sid: session.sid,
        client_secret: session.clientSecret,
        mxid: user.userId,
        threepid: { medium: 'email', address: typed },
      }),
    );
    assert.equal(unbound.status, 200, unbound.text);
    assert.deepEqual((await v1Lookup(typed)).body, {});
  });

  it('replaces the binding of an address bound to someone else', async () => {
    const { typed } = newAddress('Moved');
    const other = await newUser();
    await boundAssociation(await emailSession(typed));
    assert.equal((await v1Lookup(typed)).body.mxid, user.userId);
    const session = await emailSession(typed, { token: other.token });
    const bound = await bind(session, other.userId, { token: other.token });
    assert.equal(bound.status, 200, bound.text);
    const found = await everyLookup(typed);
    assert.deepEqual([found.v1.mxid, found.sha256, found.none], [other.userId, other.userId, other.userId]);
    assert.deepEqual(found.bulk, [['email', typed, other.userId]]);
  });

  it('refuses a wrong client secret, an unvalidated session, an expired one and another user’s mxid', async () => {
    const session = await emailSession(newAddress('Refused').typed);
    const wrongSecret = await bind({ ...session, clientSecret: newClientSecret() }, user.userId);
    assert.deepEqual([wrongSecret.status, wrongSecret.body.errcode], [404, 'M_NO_VALID_SESSION']);

    const unvalidated = await bind(
      await emailSession(newAddress('Unvalidated').typed, { validate: false }),
      user.userId,
    );
    assert.deepEqual([unvalidated.status, unvalidated.body.errcode], [400, 'M_SESSION_NOT_VALIDATED']);

    const other = await newUser();
    const someoneElse = await bind(session, other.userId);
    assert.equal(someoneElse.status, 403, someoneElse.text);

    world.setClockOffset(25 * 3_600_000); // past the session's lifetime (24 hours)
    try {
      const expired = await bind(session, user.userId);
      assert.deepEqual([expired.status, expired.body.errcode], [400, 'M_SESSION_EXPIRED']);
    } finally {
      world.setClockOffset(0);
    }
    assert.deepEqual((await v1Lookup(session.address)).body, {}, 'no refused bind left a binding');
  });
});

describe('two directory replicas', () => {
  it('a bind made through one is found at once through the other, and so is an unbind', async () => {
    const directory = await startGrpcReplica(system, 'directory');
    replicas.push(directory);
    const gateway = await startGatewayReplica(system, { TESSERA_DIRECTORY_ADDR: directory.url });
    replicas.push(gateway);

    const { typed } = newAddress('Replicated');
    const session = await emailSession(typed);
    await boundAssociation(session);
    const seen = await everyLookup(typed, gateway.url);
    assert.deepEqual([seen.v1.mxid, seen.sha256, seen.none], [user.userId, user.userId, user.userId]);

    const unbound = await unbindBySession(session, user.userId, gateway.url);
    assert.equal(unbound.status, 200, unbound.text);
    assert.deepEqual(await everyLookup(typed), { v1: {}, bulk: [], sha256: undefined, none: undefined });
  });
});

describe('unbind by a homeserver (X-Matrix)', () => {
  /** Binds a fresh address to `user`, whose homeserver is the fake one; answers the address and Tessera's name. */
  async function boundToHomeserverUser() {
    const { typed, normalised } = newAddress('Homeserver');
    const association = await boundAssociation(await emailSession(typed));
    const serverName = Object.keys(association.signatures)[0];
    assert.ok(serverName);
    return { address: normalised, serverName };
  }

  const unbindUrl = () => `${system.baseUrl}${V2}/3pid/unbind`;

  it('accepts the mxid’s own homeserver, as Synapse signs it', async () => {
    const { address, serverName } = await boundToHomeserverUser();
    const answer = await world.homeserver.postSigned({
      url: unbindUrl(),
      destinationIs: serverName,
      content: { mxid: user.userId, threepid: { medium: 'email', address } },
    });
    assert.deepEqual([answer.status, answer.body], [200, {}]);
    assert.deepEqual((await v1Lookup(address)).body, {});
  });

  it('refuses a forged signature and keeps the binding', async () => {
    const { address, serverName } = await boundToHomeserverUser();
    const answer = await world.homeserver.postSigned({
      url: unbindUrl(),
      destinationIs: serverName,
      content: { mxid: user.userId, threepid: { medium: 'email', address } },
      privateKey: generateKeyPairSync('ed25519').privateKey,
    });
    assert.equal(answer.status, 403);
    assert.equal((answer.body as { errcode?: string }).errcode, 'M_FORBIDDEN');
    assert.equal((await v1Lookup(address)).body.mxid, user.userId, 'the binding is kept');
  });

  it('refuses a homeserver unbinding a user of another server', async () => {
    const { address, serverName } = await boundToHomeserverUser();
    const elsewhere = '@someone:elsewhere.example';
    privateValues.add(elsewhere);
    const answer = await world.homeserver.postSigned({
      url: unbindUrl(),
      destinationIs: serverName,
      content: { mxid: elsewhere, threepid: { medium: 'email', address } },
    });
    assert.equal(answer.status, 403);
    assert.equal((answer.body as { errcode?: string }).errcode, 'M_FORBIDDEN');
    assert.equal((await v1Lookup(address)).body.mxid, user.userId);
  });
});

describe('v2 lookup', () => {
  it('answers the keys as sent, refuses a stale pepper with the current one, and an unknown algorithm', async () => {
    const { typed, normalised } = newAddress('Hashed');
    await boundAssociation(await emailSession(typed));
    const { lookup_pepper: pepper, algorithms } = await hashDetails();
    assert.deepEqual([...algorithms].sort(), ['none', 'sha256']);

    const hash = sha256Hash(normalised, 'email', pepper);
    const unknown = sha256Hash(`nobody.${Date.now()}@example.org`, 'email', pepper);
    const answer = await v2Lookup({ algorithm: 'sha256', pepper, addresses: [hash, unknown] });
    assert.deepEqual(answer.body.mappings, { [hash]: user.userId });

    const stale = await v2Lookup({ algorithm: 'sha256', pepper: `${pepper}-old`, addresses: [hash] });
    assert.deepEqual(
      [stale.status, stale.body.errcode, stale.body.lookup_pepper, stale.body.algorithm],
      [400, 'M_INVALID_PEPPER', pepper, 'sha256'],
    );
    const algorithm = await v2Lookup({ algorithm: 'md5', pepper, addresses: [hash] });
    assert.deepEqual([algorithm.status, algorithm.body.errcode], [400, 'M_INVALID_PARAM']);
    const noToken = await call<{ errcode: string }>(
      `${V2}/lookup`,
      json({ algorithm: 'sha256', pepper, addresses: [] }),
    );
    assert.deepEqual([noToken.status, noToken.body.errcode], [401, 'M_UNAUTHORIZED']);
  });
});

describe('pepper rotation', () => {
  it('never fails a lookup under load while the pepper rotates, and refuses the old pepper after the grace', async () => {
    const { typed, normalised } = newAddress('Rotated');
    await boundAssociation(await emailSession(typed));
    const { lookup_pepper: first } = await hashDetails();

    // Clients as Element's: hash_details, then a lookup with that pepper, again and again.
    const peppersSeen = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        const details = await call<{ lookup_pepper: string }>(`${V2}/hash_details`, { headers: bearer(user.token) });
        if (details.status !== 200) {
          failures.push(`hash_details ${details.status} ${details.text}`);
          continue;
        }
        const pepper = details.body.lookup_pepper;
        const hash = sha256Hash(normalised, 'email', pepper);
        const found = await v2Lookup({ algorithm: 'sha256', pepper, addresses: [hash] });
        if (found.status !== 200 || found.body.mappings[hash] !== user.userId)
          failures.push(`lookup ${found.status} ${found.text}`);
        peppersSeen.set(pepper, (peppersSeen.get(pepper) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 4 }, client);
    try {
      await eventually(async () => (peppersSeen.get(first) ?? 0) >= 20, 30_000, 'lookups with the first pepper');
      const rotated = await fetch(`${adminUrl}/_tessera/directory/v1/pepper/rotate`, { method: 'POST' });
      assert.equal(rotated.status, 200, await rotated.clone().text());
      await eventually(
        async () => [...peppersSeen].some(([pepper, n]) => pepper !== first && n >= 50),
        60_000,
        'lookups with the new pepper',
      );
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(failures, [], 'no request failed while the pepper rotated');
    const second = (await hashDetails()).lookup_pepper;
    assert.notEqual(second, first);

    // Once the grace is over, the first pepper is refused, with the current one in the answer.
    const hash = sha256Hash(normalised, 'email', first);
    await eventually(
      async () => (await v2Lookup({ algorithm: 'sha256', pepper: first, addresses: [hash] })).status === 400,
      PEPPER_GRACE_MS * 10,
      'the first pepper retired',
    );
    const refused = await v2Lookup({ algorithm: 'sha256', pepper: first, addresses: [hash] });
    assert.deepEqual([refused.body.errcode, refused.body.lookup_pepper], ['M_INVALID_PEPPER', second]);
  });
});

describe('privacy', () => {
  it('writes no bound address or Matrix user ID to the event stream or the logs', () => {
    const stream = natsStoreBytes(system);
    const logs = system.output.join('\n');
    assert.ok(stream.includes('AssociationBound'), 'the store files hold the association events');
    assert.ok(privateValues.size > 10, 'the tests above used values worth looking for');
    for (const value of privateValues) {
      assert.ok(!stream.includes(value), `the stream holds ${value}`);
      assert.ok(!logs.includes(value), `the logs hold ${value}`);
    }
  });
});

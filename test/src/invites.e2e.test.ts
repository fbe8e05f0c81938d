import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBase64, verifyJsonSignature } from '@tessera/canonical-json';
import { openDatabase } from '@tessera/db';
import type { OnbindCall } from '@tessera/test-harness';
import { createClient } from 'matrix-js-sdk';
import type { Logger } from 'matrix-js-sdk/lib/logger.js';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json, registerUser, validateEmailAndBind } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { eventually, natsStoreBytes, type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// Issue 10 on the whole running system: store-invite through the gateway and the invite service,
// the invite mail through the notifier, ephemeral keys and sign-ed25519 through signing, and the
// onbind call to the fake homeserver once the invited address is bound.
const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };
let db: Awaited<ReturnType<typeof openDatabase>>;
// Every address, token and key used here, searched for in the stream and the logs at the end.
const privateValues = new Set<string>();

const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const DAY_MS = 86_400_000;
const BLOCKED_ROOM = '!blocked:example.org';
const silentLogger = { info() {}, warn() {}, error() {}, debug() {} } as never;
const silent: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  getChild: () => silent,
};

before(async () => {
  world = await startOutsideWorld();
  // A brand whose invite template prints the variables plainly, one per line.
  writeFileSync(
    join(world.dir, 'templates', 'custom', 'invite_template.eml.j2'),
    [
      'Date: {{ date }}',
      'From: {{ from }}',
      'To: {{ to }}',
      'Message-ID: {{ messageid }}',
      'Subject: {{ subject_header_value }}',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'token={{ token }}',
      'key={{ ephemeral_private_key }}',
      'room={{ bracketed_room_name }}',
      'sender={{ bracketed_verified_sender }}',
      'display={{ sender_display_name }}',
      'web={{ web_client_location }}',
      'extra={{ extra_field }}',
      // Autoescaped as in Sydent's templates: a URL with `&` is marked safe to stay as it is.
      'sign={{ sign_url|safe }}',
      '',
    ].join('\n'),
  );
  system = await startSystem({
    env: {
      ...world.env,
      TESSERA_ONBIND_RETRY_BASE_MS: '100',
      TESSERA_ONBIND_RETRY_MAX_MS: '500',
      TESSERA_INVITE_BLOCKED_ROOMS: BLOCKED_ROOM,
    },
  });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  user = await registerUser(call, world);
  privateValues.add(user.userId).add(user.token);
  const { databaseUrl } = system.state();
  assert.ok(databaseUrl, 'the runner says where its database is');
  db = await openDatabase({ url: databaseUrl, poolSize: 1 }, silentLogger);
});
after(async () => {
  await db?.destroy();
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

type StoredInvite = {
  token: string;
  public_key: string;
  public_keys: { public_key: string; key_validity_url: string }[];
  display_name: string;
};
type SignedInvite = { mxid: string; token: string; signatures: Record<string, Record<string, string>> };
type OnbindBody = {
  medium: string;
  address: string;
  mxid: string;
  invites: {
    medium: string;
    address: string;
    mxid: string;
    room_id: string;
    sender: string;
    signed: SignedInvite;
  }[];
  signatures?: Record<string, Record<string, string>>;
};

let addresses = 0;
function newAddress(local = 'Invited') {
  const typed = `${local}.${++addresses}.${Date.now()}@Example.ORG`;
  privateValues.add(typed).add(typed.toLowerCase());
  return typed;
}

function inviteBody(address: string, extra: Record<string, unknown> = {}) {
  return {
    medium: 'email',
    address,
    room_id: '!room:example.org',
    sender: user.userId,
    room_name: 'The Tessera planning room, with a long name',
    sender_display_name: 'An inviter whose name runs on and on',
    room_alias: null,
    room_avatar_url: null,
    room_join_rules: 'invite',
    ...extra,
  };
}

async function storeInvite(address: string, extra: Record<string, unknown> = {}, query = '') {
  const res = await call<StoredInvite>(
    `${V2}/store-invite${query}`,
    json(inviteBody(address, extra), bearer(user.token)),
  );
  assert.equal(res.status, 200, res.text);
  privateValues.add(res.body.token);
  return res.body;
}

async function longTermKey() {
  const res = await call<{ public_key: string }>(`${V2}/pubkey/ed25519:0`);
  assert.equal(res.status, 200);
  return res.body.public_key;
}

async function ephemeralValid(publicKey: string, tree = V2) {
  const res = await call<{ valid: boolean }>(
    `${tree}/pubkey/ephemeral/isvalid?public_key=${encodeURIComponent(publicKey)}`,
  );
  assert.equal(res.status, 200, res.text);
  return res.body.valid;
}

/** Validates `address` by mail and binds it to the test's user: what makes the invites go. */
const validateAndBind = (address: string) => validateEmailAndBind(call, world.smtp, user, address);

/** The onbind calls whose body is about `address` (as bound: case-folded). */
const onbindsFor = (address: string): OnbindCall[] =>
  world.homeserver.onbindCalls.filter((c) => (c.body as OnbindBody).address === address.toLowerCase());

async function inviteRow(ephemeralPublicKey: string) {
  return db
    .selectFrom('invite')
    .select(['status', 'onbind_id'])
    .where('ephemeral_public_key', '=', ephemeralPublicKey)
    .executeTakeFirst();
}

async function inviteMail(address: string, after: number) {
  return world.smtp.waitForMessage(
    (m) => m.to.includes(address.toLowerCase()) && m.receivedAt.getTime() >= after,
    10_000,
  );
}

const lineOf = (text: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim();

describe('store-invite', () => {
  it('answers the token, the long-term key then a valid ephemeral key with absolute validity URLs, and a redacted display name', async () => {
    const address = newAddress('Francesca');
    const stored = await storeInvite(address);
    assert.match(stored.token, /^[A-Za-z0-9]{16,}$/);
    assert.equal(stored.public_keys.length, 2);
    const [longTerm, ephemeral] = stored.public_keys;
    assert.ok(longTerm && ephemeral);
    assert.equal(longTerm.public_key, await longTermKey());
    assert.equal(stored.public_key, longTerm.public_key, 'the legacy top-level key is the long-term one');
    assert.equal(longTerm.key_validity_url, `${system.baseUrl}${V1}/pubkey/isvalid`);
    assert.equal(ephemeral.key_validity_url, `${system.baseUrl}${V1}/pubkey/ephemeral/isvalid`);
    assert.notEqual(ephemeral.public_key, longTerm.public_key);
    // Sydent's rule: each part longer than 3 characters keeps its first 3.
    assert.equal(stored.display_name, 'Fra...@Exa...');
    assert.ok(!stored.display_name.includes(address.split('@')[0] ?? address));
    // The URLs stored in room state are fetched as they are: both answer.
    const valid = await fetch(`${ephemeral.key_validity_url}?public_key=${encodeURIComponent(ephemeral.public_key)}`);
    assert.deepEqual(await valid.json(), { valid: true });
    const longTermValid = await fetch(
      `${longTerm.key_validity_url}?public_key=${encodeURIComponent(longTerm.public_key)}`,
    );
    assert.deepEqual(await longTermValid.json(), { valid: true });
  });

  it('says a random ephemeral key is not valid, on both trees', async () => {
    const random = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
    assert.equal(await ephemeralValid(random), false);
    assert.equal(await ephemeralValid(random, V1), false);
    const stored = await storeInvite(newAddress());
    const ephemeral = stored.public_keys[1]?.public_key ?? '';
    assert.equal(await ephemeralValid(ephemeral, V1), true);
    // Either base64 alphabet, as clients re-encode keys.
    assert.equal(await ephemeralValid(Buffer.from(ephemeral, 'base64url').toString('base64').replace(/=+$/, '')), true);
  });

  it('mails the invite with the variables, the display name and room name truncated, and extra keys passed on', async () => {
    const address = newAddress('Mailed');
    const sentAfter = Date.now();
    const stored = await storeInvite(address, { extra_field: 'passed-through' }, '?brand=custom');
    const mail = await inviteMail(address, sentAfter);
    const text = mail.parsed.text ?? '';
    assert.equal(lineOf(text, 'token'), stored.token);
    const seed = lineOf(text, 'key');
    assert.ok(seed && seed.length >= 43, 'the mail holds the ephemeral private key');
    privateValues.add(seed);
    // Sydent's truncation: a display name over 20 characters keeps 19, a room name over 30 keeps 25.
    assert.equal(lineOf(text, 'room'), '(The Tessera planning room…)');
    assert.equal(lineOf(text, 'display'), 'An inviter whose na…');
    // On v2 the sender is the token's user: verified, and the mail says so.
    assert.equal(lineOf(text, 'sender'), `(${user.userId})`);
    assert.equal(lineOf(text, 'web'), 'https://app.element.io');
    assert.equal(lineOf(text, 'extra'), 'passed-through');
    assert.match(mail.parsed.subject ?? '', /has invited you to chat/);

    // The private key from the mail signs through sign-ed25519, on both trees, and verifies with
    // the ephemeral public key answered by store-invite.
    const ephemeralKey = decodeBase64(stored.public_keys[1]?.public_key ?? '');
    for (const [tree, headers] of [
      [V2, bearer(user.token)],
      [V1, {}],
    ] as const) {
      const signed: { status: number; text: string; body: SignedInvite & { sender: string } } = await call<
        SignedInvite & { sender: string }
      >(
        `${tree}/sign-ed25519`,
        json({ mxid: '@invitee:example.org', token: stored.token, private_key: seed }, headers),
      );
      assert.equal(signed.status, 200, signed.text);
      assert.equal(signed.body.sender, user.userId);
      assert.equal(signed.body.mxid, '@invitee:example.org');
      assert.equal(signed.body.token, stored.token);
      const entity = Object.keys(signed.body.signatures)[0] ?? '';
      assert.ok(verifyJsonSignature(signed.body, { entity, keyId: 'ed25519:0', publicKey: ephemeralKey }), tree);
    }
  });

  it("lets Element's client join with the mail's sign URL: matrix-js-sdk POSTs it with its user in the query and no body", async () => {
    const address = newAddress('Joiner');
    const sentAfter = Date.now();
    const stored = await storeInvite(address, {}, '?brand=custom');
    const mail = await inviteMail(address, sentAfter);
    const signUrl = lineOf(mail.parsed.text ?? '', 'sign');
    assert.ok(signUrl?.startsWith(`${system.baseUrl}${V1}/sign-ed25519?`), signUrl);
    // The homeserver side of the join: whatever the client sends to /join is recorded.
    const joins: { third_party_signed?: SignedInvite & { sender: string } }[] = [];
    const homeserver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (req.url?.includes('/join/')) joins.push(JSON.parse(body || '{}'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"room_id":"!room:example.org"}');
      });
    });
    await new Promise<void>((ok) => homeserver.listen(0, '127.0.0.1', ok));
    try {
      const client = createClient({
        baseUrl: `http://127.0.0.1:${(homeserver.address() as AddressInfo).port}`,
        userId: '@joiner:example.org',
        accessToken: 'homeserver-access-token',
        logger: silent,
      });
      await client.joinRoom('!room:example.org', { inviteSignUrl: signUrl, syncRoom: false });
    } finally {
      await new Promise((ok) => homeserver.close(ok));
    }
    const signed = joins[0]?.third_party_signed;
    assert.ok(signed, 'the client joined with third_party_signed');
    assert.equal(signed.mxid, '@joiner:example.org');
    assert.equal(signed.sender, user.userId);
    assert.equal(signed.token, stored.token);
    const entity = Object.keys(signed.signatures)[0] ?? '';
    const ephemeralKey = decodeBase64(stored.public_keys[1]?.public_key ?? '');
    assert.ok(verifyJsonSignature(signed, { entity, keyId: 'ed25519:0', publicKey: ephemeralKey }));
  });

  it('uses the space wording of the shipped template when room_type is m.space', async () => {
    const address = newAddress('Spaced');
    const sentAfter = Date.now();
    await storeInvite(address, { room_type: 'm.space', room_name: 'Spacious' });
    const mail = await inviteMail(address, sentAfter);
    assert.match(mail.parsed.subject ?? '', /space/i);
    assert.ok((mail.parsed.text ?? '').includes('Spacious'));
    assert.ok(typeof mail.parsed.html === 'string' && mail.parsed.html.includes('Spacious'), 'an HTML part too');
  });

  it('answers 404 M_UNRECOGNIZED to sign-ed25519 for an unknown token', async () => {
    const seed = Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
    const res = await call<{ errcode: string }>(
      `${V1}/sign-ed25519`,
      json({ mxid: '@invitee:example.org', token: 'NoSuchTokenAtAll0123456789abcdef', private_key: seed }),
    );
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
  });

  it('answers 400 M_THREEPID_IN_USE with the mxid for a bound address', async () => {
    const address = newAddress('Bound');
    await validateAndBind(address);
    const res = await call<{ errcode: string; mxid: string }>(
      `${V2}/store-invite`,
      json(inviteBody(address), bearer(user.token)),
    );
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.errcode, 'M_THREEPID_IN_USE');
    assert.equal(res.body.mxid, user.userId);
  });

  it('refuses another medium, a sender who is not the token user, and a blocklisted room', async () => {
    const msisdn = await call<{ errcode: string }>(
      `${V2}/store-invite`,
      json({ ...inviteBody('15551234567'), medium: 'msisdn' }, bearer(user.token)),
    );
    assert.equal(msisdn.status, 400);
    assert.equal(msisdn.body.errcode, 'M_UNRECOGNIZED');
    const other = await call<{ errcode: string }>(
      `${V2}/store-invite`,
      json(inviteBody(newAddress(), { sender: '@someone.else:example.org' }), bearer(user.token)),
    );
    assert.equal(other.status, 403);
    const blocked = await call<{ errcode: string }>(
      `${V2}/store-invite`,
      json(inviteBody(newAddress(), { room_id: BLOCKED_ROOM }), bearer(user.token)),
    );
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.errcode, 'M_UNAUTHORIZED');
  });

  it('takes v1 store-invite as JSON with nulls and form-encoded as old Synapse sends it', async () => {
    const withNulls = await call<StoredInvite>(
      `${V1}/store-invite`,
      json({
        ...inviteBody(newAddress('Nulls')),
        room_name: null,
        sender_display_name: null,
        sender_avatar_url: null,
      }),
    );
    assert.equal(withNulls.status, 200, withNulls.text);
    privateValues.add(withNulls.body.token);
    const address = newAddress('Formed');
    const form = new URLSearchParams({
      medium: 'email',
      address,
      room_id: '!room:example.org',
      sender: '@old.synapse:example.org',
      room_name: 'Old style',
      guest_access_token: 'a-guest-token-never-passed-on',
      guest_user_id: '@guest:example.org',
    });
    const formed = await call<StoredInvite>(`${V1}/store-invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    assert.equal(formed.status, 200, formed.text);
    privateValues.add(formed.body.token).add('a-guest-token-never-passed-on');
    assert.equal(formed.body.public_keys.length, 2);
  });
});

describe('onbind', () => {
  it('calls the homeserver once the invited address is bound, with invites whose signatures verify with the long-term key', async () => {
    const address = newAddress('Onbound');
    const first = await storeInvite(address, { room_id: '!first:example.org' });
    const second = await storeInvite(address, { room_id: '!second:example.org' });
    world.homeserver.failOnbind(503, 3);
    await validateAndBind(address);
    const delivered = await world.homeserver.waitForOnbind(
      (c) => c.status === 200 && (c.body as OnbindBody).address === address.toLowerCase(),
      30_000,
    );
    const calls = onbindsFor(address);
    assert.deepEqual(
      calls.map((c) => c.status),
      [503, 503, 503, 200],
      'the homeserver failed three times, then took it',
    );
    assert.equal(delivered.method, 'POST');
    const body = delivered.body as OnbindBody;
    assert.equal(body.medium, 'email');
    assert.equal(body.mxid, user.userId);
    const publicKey = decodeBase64(await longTermKey());
    const entity = Object.keys(body.invites[0]?.signed.signatures ?? {})[0] ?? '';
    assert.deepEqual(body.invites.map((i) => i.signed.token).sort(), [first.token, second.token].sort());
    assert.deepEqual(body.invites.map((i) => i.room_id).sort(), ['!first:example.org', '!second:example.org']);
    for (const invite of body.invites) {
      assert.equal(invite.sender, user.userId);
      assert.equal(invite.mxid, user.userId);
      assert.equal(invite.signed.mxid, user.userId);
      assert.ok(verifyJsonSignature(invite.signed, { entity, keyId: 'ed25519:0', publicKey }), 'signed verifies');
    }
    assert.ok(verifyJsonSignature(body, { entity, keyId: 'ed25519:0', publicKey }), 'the whole body is signed');

    // Delivered: the read model says so, and nothing more is sent.
    const ephemeral = first.public_keys[1]?.public_key ?? '';
    await eventually(async () => (await inviteRow(ephemeral))?.status === 'delivered', 10_000, 'invite delivered');
    const later = newAddress('Later');
    await storeInvite(later);
    await validateAndBind(later);
    await world.homeserver.waitForOnbind((c) => (c.body as OnbindBody).address === later.toLowerCase(), 30_000);
    assert.equal(onbindsFor(address).length, 4, 'no call after the one that succeeded');
  });

  it('sends PUT once when POST answers 404', async () => {
    const address = newAddress('Putter');
    await storeInvite(address);
    world.homeserver.failOnbind(404, 1);
    await validateAndBind(address);
    const put = await world.homeserver.waitForOnbind(
      (c) => c.method === 'PUT' && (c.body as OnbindBody).address === address.toLowerCase(),
      30_000,
    );
    assert.equal(put.status, 200);
    assert.deepEqual(
      onbindsFor(address).map((c) => [c.method, c.status]),
      [
        ['POST', 404],
        ['PUT', 200],
      ],
    );
  });

  it('does not deliver an expired invite, nor a revoked one, and their ephemeral keys are no longer valid', async () => {
    const expired = newAddress('Expired');
    const old = await storeInvite(expired);
    const revokedAddress = newAddress('Revoked');
    const revoked = await storeInvite(revokedAddress);
    const adminUrl = system.state().services.invite?.adminUrl;
    assert.ok(adminUrl, 'the runner turns the invite admin API on');
    const revoke = await fetch(`${adminUrl}/_tessera/invite/v1/revoke`, json({ token: revoked.token }));
    assert.equal(revoke.status, 200, await revoke.text());
    assert.equal(await ephemeralValid(revoked.public_keys[1]?.public_key ?? ''), false);

    world.setClockOffset(31 * DAY_MS);
    try {
      assert.equal(await ephemeralValid(old.public_keys[1]?.public_key ?? ''), false);
      const fresh = newAddress('Fresh');
      await storeInvite(fresh);
      await validateAndBind(expired);
      await validateAndBind(revokedAddress);
      await validateAndBind(fresh);
      await world.homeserver.waitForOnbind((c) => (c.body as OnbindBody).address === fresh.toLowerCase(), 30_000);
      assert.equal(onbindsFor(expired).length, 0, 'the expired invite is not delivered');
      assert.equal(onbindsFor(revokedAddress).length, 0, 'the revoked invite is not delivered');
      assert.equal((await inviteRow(old.public_keys[1]?.public_key ?? ''))?.status, 'pending');
    } finally {
      world.setClockOffset(0);
    }
  });
});

describe('privacy', () => {
  it('writes no address, invite token, private key or Matrix user ID to the event stream or the logs', () => {
    const stream = natsStoreBytes(system);
    const logs = system.output.join('\n');
    assert.ok(stream.includes('InviteStored') && stream.includes('OnbindRequested'), 'the store holds invite events');
    assert.ok(privateValues.size > 20, 'the tests above used values worth looking for');
    for (const value of privateValues) {
      assert.ok(!stream.includes(value), `the stream holds ${value}`);
      assert.ok(!logs.includes(value), `the logs hold ${value}`);
    }
  });
});

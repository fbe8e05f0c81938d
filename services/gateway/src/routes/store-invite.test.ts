import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import {
  EPHEMERAL_KEY,
  INVITE_TOKEN,
  type InviteApp,
  LONG_TERM_KEY,
  startInviteApp,
} from '../../test-support/invite-fixture.js';
import { ALICE_TOKEN, asReceived, BOB_TOKEN, unavailable } from '../../test-support/session-fixture.js';
import { MAX_INVITE_FIELDS_BYTES } from './store-invite.js';

let app: InviteApp;
before(async () => {
  app = await startInviteApp();
});
after(() => app.close());
beforeEach(() => app.reset());

const alice = '@alice:example.org';
const invitation = { medium: 'email', address: 'Bob@Example.ORG', room_id: '!room:example.org', sender: alice };
// What Synapse sends: every optional field it lacks as null, and its web client's location.
const fromSynapse = {
  ...invitation,
  room_alias: null,
  room_avatar_url: null,
  room_join_rules: 'invite',
  room_name: 'Garden',
  sender_display_name: null,
  sender_avatar_url: null,
  'org.matrix.web_client_location': 'https://app.example.org',
};

const v1 = (json: unknown) => app.call('/api/v1/store-invite', { json });
const v2 = (json: unknown, token = ALICE_TOKEN) => app.call('/v2/store-invite', { json, token });
const fieldsOf = (index: number) => JSON.parse(app.invite.requestsOf('storeInvite')[index]?.fieldsJson ?? 'null');

describe('POST store-invite', () => {
  it("answers the service's token, public keys (the long-term one also as public_key) and display name, on both trees", async () => {
    for (const res of [await v1(invitation), await v2(invitation)]) {
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {
        token: INVITE_TOKEN,
        public_keys: [
          {
            public_key: LONG_TERM_KEY,
            key_validity_url: 'https://id.example.org/_matrix/identity/api/v1/pubkey/isvalid',
          },
          {
            public_key: EPHEMERAL_KEY,
            key_validity_url: 'https://id.example.org/_matrix/identity/api/v1/pubkey/ephemeral/isvalid',
          },
        ],
        public_key: LONG_TERM_KEY,
        display_name: 'bob...@exa...',
      });
    }
  });

  it('hands the service the address as sent and normalised, the room, the sender, no other field, and the brand', async () => {
    const res = await app.call('/api/v1/store-invite?brand=alpha', { json: invitation });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(app.invite.requestsOf('storeInvite'), [
      {
        address: 'Bob@Example.ORG',
        normalisedAddress: 'bob@example.org',
        roomId: '!room:example.org',
        sender: alice,
        fieldsJson: '{}',
        brand: 'alpha',
        senderVerified: false,
      },
    ]);
  });

  it("says the sender is verified on v2, where it is the token's user, and not on v1", async () => {
    assert.equal((await v1(invitation)).status, 200);
    assert.equal((await v2(invitation)).status, 200);
    assert.deepEqual(
      app.invite.requestsOf('storeInvite').map((request) => request.senderVerified),
      [false, true],
    );
  });

  it("accepts Synapse's nulls on both trees: dropped from the fields, which keep every other key", async () => {
    for (const res of [await v1(fromSynapse), await v2(fromSynapse)]) assert.equal(res.status, 200, res.text);
    const expected = {
      room_join_rules: 'invite',
      room_name: 'Garden',
      'org.matrix.web_client_location': 'https://app.example.org',
    };
    assert.deepEqual([fieldsOf(0), fieldsOf(1)], [expected, expected]);
  });

  it('takes a form body on v1 with extra keys, never handing on the guest credentials old Synapse added', async () => {
    const form = new URLSearchParams({
      ...invitation,
      room_name: 'Garden',
      room_alias: '',
      guest_access_token: 'guest-secret',
      guest_user_id: '@guest:example.org',
      'org.matrix.web_client_location': 'https://app.example.org',
    });
    const res = await app.call('/api/v1/store-invite', { form: form.toString() });
    assert.equal(res.status, 200, res.text);
    const [request] = app.invite.requestsOf('storeInvite');
    assert.deepEqual(
      [request?.normalisedAddress, request?.roomId, request?.sender],
      ['bob@example.org', '!room:example.org', alice],
    );
    assert.deepEqual(fieldsOf(0), {
      room_name: 'Garden',
      room_alias: '',
      'org.matrix.web_client_location': 'https://app.example.org',
    });
  });

  it('takes a number or boolean where an optional string is expected, as a string; leaves out what no template can show', async () => {
    const res = await v1({ ...invitation, room_name: 42, room_join_rules: true, nested: { a: 1 }, list: ['a'] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(fieldsOf(0), { room_name: '42', room_join_rules: 'true' });
  });

  it('keeps a field named __proto__ as a field', async () => {
    const res = await v1(JSON.parse(`{"__proto__":"x",${JSON.stringify(invitation).slice(1)}`));
    assert.equal(res.status, 200, res.text);
    assert.equal(app.invite.requestsOf('storeInvite')[0]?.fieldsJson, '{"__proto__":"x"}');
  });

  it('refuses a missing medium, address, room_id or sender (null too) with 400 M_MISSING_PARAMS, on both trees', async () => {
    for (const name of ['medium', 'address', 'room_id', 'sender'] as const) {
      const { [name]: _, ...without } = invitation;
      for (const body of [without, { ...invitation, [name]: null }]) {
        for (const res of [await v1(body), await v2(body)]) {
          assert.deepEqual([res.status, res.body?.errcode], [400, 'M_MISSING_PARAMS'], `${name}: ${res.text}`);
          assert.match(String(res.body?.error), new RegExp(name));
        }
      }
    }
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
  });

  it('refuses a medium other than email with 400 M_UNRECOGNIZED, and a malformed email with 400 M_INVALID_EMAIL', async () => {
    for (const [body, errcode] of [
      [{ ...invitation, medium: 'msisdn', address: '447700900000' }, 'M_UNRECOGNIZED'],
      [{ ...invitation, medium: 'carrier-pigeon' }, 'M_UNRECOGNIZED'],
      [{ ...invitation, address: 'not an address' }, 'M_INVALID_EMAIL'],
      [{ ...invitation, address: 'bob@localhost' }, 'M_INVALID_EMAIL'],
    ] as const) {
      for (const res of [await v1(body), await v2(body)])
        assert.deepEqual([res.status, res.body?.errcode], [400, errcode], JSON.stringify(body));
    }
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
  });

  it('refuses a room_id that is not a room ID (no sigil, a line break, a NUL, a space, over 255 bytes) with 400 M_INVALID_PARAM, on both trees', async () => {
    for (const roomId of [
      'room:example.org',
      '#alias:example.org',
      '!room:example.org\r\nBcc: victim@example.org',
      '!room\0:example.org',
      '!a room:example.org',
      `!${'a'.repeat(255)}`,
    ]) {
      const body = { ...invitation, room_id: roomId };
      for (const res of [await v1(body), await v2(body)]) {
        assert.deepEqual([res.status, res.body?.errcode], [400, 'M_INVALID_PARAM'], JSON.stringify(roomId));
        assert.match(String(res.body?.error), /^room_id/);
      }
    }
    const form = new URLSearchParams({ ...invitation, room_id: '!room:example.org\nX: y' }).toString();
    const byForm = await app.call('/api/v1/store-invite', { form });
    assert.deepEqual([byForm.status, byForm.body?.errcode], [400, 'M_INVALID_PARAM']);
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
    assert.deepEqual(app.limits.consumed, [], 'a refused invite is not counted');
  });

  it('takes a room ID of room version 12 (no server name) as sent', async () => {
    const roomId = '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM';
    for (const res of [await v1({ ...invitation, room_id: roomId }), await v2({ ...invitation, room_id: roomId })])
      assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      app.invite.requestsOf('storeInvite').map((request) => request.roomId),
      [roomId, roomId],
    );
  });

  it('refuses a sender that is not a user ID, and a required field that is not a string, with 400 M_INVALID_PARAM', async () => {
    for (const body of [
      { ...invitation, sender: 'alice' },
      { ...invitation, sender: '@alice' },
      { ...invitation, sender: 7 },
      { ...invitation, room_id: ['!room:example.org'] },
    ]) {
      const res = await v1(body);
      assert.deepEqual([res.status, res.body?.errcode], [400, 'M_INVALID_PARAM'], JSON.stringify(body));
    }
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
  });

  it("needs a token and accepted terms on v2, and refuses a sender other than the token's user with 403 M_UNAUTHORIZED", async () => {
    const none = await app.call('/v2/store-invite', { json: invitation });
    assert.deepEqual([none.status, none.body?.errcode], [401, 'M_UNAUTHORIZED']);
    const unsigned = await v2({ ...invitation, sender: '@bob:example.org' }, BOB_TOKEN);
    assert.deepEqual([unsigned.status, unsigned.body?.errcode], [403, 'M_TERMS_NOT_SIGNED']);
    const other = await v2({ ...invitation, sender: '@mallory:example.org' });
    assert.deepEqual([other.status, other.body?.errcode], [403, 'M_UNAUTHORIZED']);
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
    assert.deepEqual(app.limits.consumed, [], 'a refused invite is not counted');
  });

  it('limits invites per sender on both trees: 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After, other senders unaffected', async () => {
    // INVITE_TEST_LIMITS: 2 per sender; the v1 calls' addresses stay under their 3 per IP.
    const v1From = (ip: string, json: unknown) =>
      app.call('/api/v1/store-invite', { json, headers: { 'x-forwarded-for': ip } });
    assert.equal((await v1From('192.0.2.1', invitation)).status, 200);
    assert.equal((await v2(invitation)).status, 200);
    const over = await v1From('192.0.2.2', invitation);
    assert.deepEqual([over.status, over.body?.errcode, over.body?.retry_after_ms], [429, 'M_LIMIT_EXCEEDED', 42_500]);
    assert.equal(over.headers.get('retry-after'), '43');
    const overV2 = await v2(invitation);
    assert.deepEqual([overV2.status, overV2.body?.errcode], [429, 'M_LIMIT_EXCEEDED']);
    assert.equal((await v1From('192.0.2.2', { ...invitation, sender: '@carol:example.org' })).status, 200);
    assert.equal(app.invite.requestsOf('storeInvite').length, 3);
    assert.deepEqual(
      app.limits.consumed.filter(({ scope }) => scope === 'sender').map(({ subject }) => subject),
      [alice, alice, alice, alice, '@carol:example.org'],
    );
  });

  it('limits v1 invites per client IP too, whatever sender they name; v2 invites are not counted by address', async () => {
    // INVITE_TEST_LIMITS: 3 per IP. Every call names a sender of its own, so only the address limits.
    const v1From = (ip: string, n: number) =>
      app.call('/api/v1/store-invite', {
        json: { ...invitation, sender: `@user${n}:example.org` },
        headers: { 'x-forwarded-for': ip },
      });
    for (let n = 0; n < 3; n++) assert.equal((await v1From('203.0.113.7', n)).status, 200);
    const over = await v1From('203.0.113.7', 3);
    assert.deepEqual([over.status, over.body?.errcode, over.body?.retry_after_ms], [429, 'M_LIMIT_EXCEEDED', 42_500]);
    assert.equal(over.headers.get('retry-after'), '43');
    const overByForm = await app.call('/api/v1/store-invite', {
      form: new URLSearchParams({ ...invitation, sender: '@user4:example.org' }).toString(),
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    assert.deepEqual([overByForm.status, overByForm.body?.errcode], [429, 'M_LIMIT_EXCEEDED']);
    assert.equal((await v1From('203.0.113.8', 5)).status, 200, 'another address is unaffected');
    const onV2 = await app.call('/v2/store-invite', {
      json: invitation,
      token: ALICE_TOKEN,
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    assert.equal(onV2.status, 200, 'v2 is counted per sender, not by address');
    assert.equal(app.invite.requestsOf('storeInvite').length, 5);
    assert.deepEqual(
      app.limits.consumed.filter(({ scope }) => scope === 'ip').map(({ subject }) => subject),
      ['203.0.113.7', '203.0.113.7', '203.0.113.7', '203.0.113.7', '203.0.113.7', '203.0.113.8'],
    );
    assert.deepEqual(
      app.limits.consumed.filter(({ scope }) => scope === 'sender').map(({ subject }) => subject),
      ['@user0:example.org', '@user1:example.org', '@user2:example.org', '@user5:example.org', alice],
      'a caller over its address limit does not use up the sender it names',
    );
  });

  it("passes the service's refusals through: M_THREEPID_IN_USE with mxid, a blocklisted invite's 403 M_UNAUTHORIZED", async () => {
    app.invite.script.storeInvite = async () => {
      throw asReceived(
        new TesseraError('M_THREEPID_IN_USE', 'binding already known', { extra: { mxid: '@bob:example.org' } }),
      );
    };
    for (const res of [await v1(invitation), await v2(invitation)])
      assert.deepEqual(
        [res.status, res.body],
        [400, { errcode: 'M_THREEPID_IN_USE', error: 'binding already known', mxid: '@bob:example.org' }],
      );
    app.invite.script.storeInvite = async () => {
      throw asReceived(new TesseraError('M_UNAUTHORIZED', 'invites to this room are refused', { httpStatus: 403 }));
    };
    const blocked = await v1({ ...invitation, sender: '@carol:example.org' }); // alice has used her 2
    assert.deepEqual([blocked.status, blocked.body?.errcode], [403, 'M_UNAUTHORIZED']);
  });

  it('answers 503 M_UNKNOWN while the invite service is unreachable', async () => {
    app.invite.script.storeInvite = async () => {
      throw unavailable();
    };
    const res = await v1(invitation);
    assert.deepEqual([res.status, res.body?.errcode], [503, 'M_UNKNOWN']);
  });

  it('refuses optional fields too large to hand on with 413 M_TOO_LARGE', async () => {
    const res = await v1({ ...invitation, room_name: 'x'.repeat(MAX_INVITE_FIELDS_BYTES) });
    assert.deepEqual([res.status, res.body?.errcode], [413, 'M_TOO_LARGE']);
    assert.deepEqual(app.invite.requestsOf('storeInvite'), []);
  });
});

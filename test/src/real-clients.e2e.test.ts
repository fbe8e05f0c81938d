import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ObservedFetch } from './spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import type { RunningSystem } from './system/running-system.js';
import { startSystemWithUser, stopSystemAndWorld } from './system/system-with-user.js';

// What real clients send, on the whole running system: Element's matrix-js-sdk sends send_attempt
// as a string (`sendAttempt?.toString()`) on v2 requestToken; matrix-is-tester and older clients
// register with access_token and matrix_server_name only. Sydent accepts both.
//
// "None sent" is read at once, without waiting: requestToken answers only after the notifier has
// recorded the delivery's outcome, and the mail catcher and the SMS provider record a message
// before they accept it; so a message the repeated request had caused would be there already.
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };

before(async () => {
  world = await startOutsideWorld();
  ({ system, call, user } = await startSystemWithUser(world));
});
after(() => stopSystemAndWorld(system, world));

const mailsTo = (address: string) => world.smtp.messages.filter((m) => m.to.includes(address)).length;

describe('send_attempt as a string of digits', () => {
  for (const tree of ['v2', 'api/v1'] as const) {
    it(`${tree} email requestToken with "send_attempt": "1" sends a mail, and the same again sends none`, async () => {
      const email = `string-attempt-${tree.replace('/', '-')}-${Date.now()}@example.org`;
      const body = { client_secret: newClientSecret(), email, send_attempt: '1' };
      const headers = tree === 'v2' ? bearer(user.token) : {};
      const path = `/_matrix/identity/${tree}/validate/email/requestToken`;

      const first = await call<{ sid: string }>(path, json(body, headers));
      assert.equal(first.status, 200, first.text);
      await mailTo(world.smtp, email);
      assert.equal(mailsTo(email), 1);

      const again = await call<{ sid: string }>(path, json(body, headers));
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.sid, first.body.sid);
      assert.equal(mailsTo(email), 1, 'no second mail for the same send_attempt');

      const higher = await call<{ sid: string }>(path, json({ ...body, send_attempt: '2' }, headers));
      assert.equal(higher.status, 200, higher.text);
      await world.smtp.waitForMessage(() => mailsTo(email) === 2, 30_000);
    });
  }

  it('v2 msisdn requestToken with "send_attempt": "1" sends an SMS, and the same again sends none', async () => {
    const body = { client_secret: newClientSecret(), country: 'GB', phone_number: '07400 654321', send_attempt: '1' };
    const path = '/_matrix/identity/v2/validate/msisdn/requestToken';
    const smsTo = () => world.sms.sent.filter((s) => s.to === '+447400654321').length;

    const first = await call<{ sid: string }>(path, json(body, bearer(user.token)));
    assert.equal(first.status, 200, first.text);
    assert.equal(smsTo(), 1);
    const again = await call<{ sid: string }>(path, json(body, bearer(user.token)));
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.sid, first.body.sid);
    assert.equal(smsTo(), 1, 'no second SMS for the same send_attempt');
  });

  it('refuses a send_attempt that is not a whole number of digits with 400 M_INVALID_PARAM', async () => {
    const email = `bad-attempt-${Date.now()}@example.org`;
    for (const sendAttempt of ['1.0', ' 1', '-1', '+1', '', 'one', -1, 1.5]) {
      const body = { client_secret: newClientSecret(), email, send_attempt: sendAttempt };
      const res = await call<{ errcode: string }>(
        '/_matrix/identity/v2/validate/email/requestToken',
        json(body, bearer(user.token)),
      );
      assert.deepEqual([res.status, res.body.errcode], [400, 'M_INVALID_PARAM'], JSON.stringify(sendAttempt));
    }
    assert.equal(mailsTo(email), 0);
  });
});

describe('account/register with only access_token and matrix_server_name', () => {
  it('registers: token_type is taken as Bearer, expires_in may be absent', async () => {
    const openIdToken = `openid-minimal-${Date.now()}`;
    const userId = `@minimal:${world.homeserver.serverName}`;
    world.homeserver.addOpenIdToken(openIdToken, userId);
    const res = await call<{ token: string }>(
      '/_matrix/identity/v2/account/register',
      json({ access_token: openIdToken, matrix_server_name: world.homeserver.serverName }),
    );
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.token, /^[A-Za-z0-9]{64}$/);
    // The token is a real one: the terms are not accepted yet, so /account answers 403, not 401.
    const account = await call<{ errcode: string }>('/_matrix/identity/v2/account', {
      headers: bearer(res.body.token),
    });
    assert.deepEqual([account.status, account.body.errcode], [403, 'M_TERMS_NOT_SIGNED']);
  });

  it('still refuses a token_type other than Bearer with 400 M_INVALID_PARAM', async () => {
    const openIdToken = `openid-mac-${Date.now()}`;
    world.homeserver.addOpenIdToken(openIdToken, `@mac:${world.homeserver.serverName}`);
    const res = await call<{ errcode: string }>(
      '/_matrix/identity/v2/account/register',
      json({ access_token: openIdToken, token_type: 'MAC', matrix_server_name: world.homeserver.serverName }),
    );
    assert.deepEqual([res.status, res.body.errcode], [400, 'M_INVALID_PARAM']);
  });
});

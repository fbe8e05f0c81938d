import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld, TERMS_URLS } from './system/outside-world.js';
import { natsStoreBytes, type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// Issue 3 on the whole running system: the runner with NATS, Postgres, signing, session, notifier
// and gateway, talking to a real SMTP listener, a homeserver over HTTPS and an SMS provider, all on
// loopback. Every JSON response is checked against the spec's schema.
const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };
// Addresses starting with `flaky-` are refused by the mail server the first time only.
const refusedOnce = new Set<string>();
const refuseOnce = (address: string) => {
  if (!address.startsWith('flaky-') || refusedOnce.has(address)) return false;
  refusedOnce.add(address);
  return true;
};
// Every secret value a test uses (Matrix user IDs included), searched for in the stream and the logs at the end.
const secretsUsed = new Set<string>();

before(async () => {
  world = await startOutsideWorld({
    rejectRecipient: (address) => address.startsWith('refused') || refuseOnce(address),
  });
  system = await startSystem({ env: world.env });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  user = await registerUser(call, world);
  secretsUsed.add(user.token).add(user.userId);
});
after(async () => {
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

async function requestEmailToken(
  email: string,
  options: { clientSecret?: string; sendAttempt?: number; nextLink?: string; query?: string } = {},
) {
  const clientSecret = options.clientSecret ?? newClientSecret();
  secretsUsed.add(clientSecret).add(email);
  const body: Record<string, unknown> = { client_secret: clientSecret, email, send_attempt: options.sendAttempt ?? 1 };
  if (options.nextLink) body.next_link = options.nextLink;
  const res = await call<{ sid: string; errcode?: string }>(
    `/_matrix/identity/v2/validate/email/requestToken${options.query ?? ''}`,
    json(body, bearer(user.token)),
  );
  return { res, clientSecret };
}

describe('accounts and terms', () => {
  it('registers through OpenID and refuses with 403 M_TERMS_NOT_SIGNED until every policy is accepted', async () => {
    const fresh = await registerUser(call, world, { acceptTerms: false });
    secretsUsed.add(fresh.token).add(fresh.userId);
    const refused = await call<{ errcode: string }>('/_matrix/identity/v2/account', { headers: bearer(fresh.token) });
    assert.deepEqual([refused.status, refused.body.errcode], [403, 'M_TERMS_NOT_SIGNED']);

    const terms = await call<{ policies: Record<string, { version: string }> }>('/_matrix/identity/v2/terms');
    assert.equal(terms.status, 200);
    assert.deepEqual(Object.keys(terms.body.policies).sort(), ['privacy_policy', 'terms_of_service']);

    // Accepting the French URL accepts the policy; the other policy is still missing.
    const partly = await call(
      '/_matrix/identity/v2/terms',
      json({ user_accepts: [TERMS_URLS.tosFr] }, bearer(fresh.token)),
    );
    assert.equal(partly.status, 200);
    assert.equal((await call('/_matrix/identity/v2/account', { headers: bearer(fresh.token) })).status, 403);

    await call('/_matrix/identity/v2/terms', json({ user_accepts: [TERMS_URLS.privacyEn] }, bearer(fresh.token)));
    const account = await call<{ user_id: string }>('/_matrix/identity/v2/account', { headers: bearer(fresh.token) });
    assert.deepEqual([account.status, account.body.user_id], [200, fresh.userId]);
  });

  it('answers 401 M_UNAUTHORIZED without a valid token on every authenticated v2 endpoint', async () => {
    const attempts: [string, RequestInit][] = [
      ['/_matrix/identity/v2/account', {}],
      ['/_matrix/identity/v2/account/logout', json({})],
      ['/_matrix/identity/v2/terms', json({ user_accepts: [] })],
      [
        '/_matrix/identity/v2/validate/email/requestToken',
        json({ client_secret: 'a', email: 'a@example.org', send_attempt: 1 }),
      ],
      ['/_matrix/identity/v2/validate/email/submitToken', json({ sid: 'a', client_secret: 'a', token: 'a' })],
      ['/_matrix/identity/v2/3pid/getValidated3pid?sid=a&client_secret=a', {}],
    ];
    for (const [path, init] of attempts) {
      for (const headers of [{}, bearer('not-a-token')]) {
        const res = await call<{ errcode: string }>(path, { ...init, headers: { ...init.headers, ...headers } });
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(
          res.body.errcode,
          path.endsWith('logout') && 'authorization' in headers ? 'M_UNKNOWN_TOKEN' : 'M_UNAUTHORIZED',
        );
      }
    }
  });

  it('accepts the token in the access_token query parameter, and logs out', async () => {
    const other = await registerUser(call, world);
    secretsUsed.add(other.token).add(other.userId);
    const viaQuery = await call(`/_matrix/identity/v2/account?access_token=${other.token}`);
    assert.equal(viaQuery.status, 200);
    // The gateway has seen the token on requestToken (and remembers its user for the limits) ...
    const requestToken = (clientSecret: string) =>
      call(
        '/_matrix/identity/v2/validate/email/requestToken',
        json({ client_secret: clientSecret, email: 'logout.check@example.org', send_attempt: 1 }, bearer(other.token)),
      );
    secretsUsed.add('logout.check@example.org').add('logout-check-1').add('logout-check-2');
    assert.equal((await requestToken('logout-check-1')).status, 200);
    const logout = await call('/_matrix/identity/v2/account/logout', { method: 'POST', headers: bearer(other.token) });
    assert.deepEqual([logout.status, logout.body], [200, {}]);
    assert.equal((await call('/_matrix/identity/v2/account', { headers: bearer(other.token) })).status, 401);
    // ... and still, once logged out, the token starts nothing.
    const refused = await requestToken('logout-check-2');
    assert.deepEqual([refused.status, (refused.body as { errcode?: string }).errcode], [401, 'M_UNAUTHORIZED']);
  });
});

describe('email validation', () => {
  it('mails the address as typed (lower-cased, ß kept) and validates the case-folded address', async () => {
    const started = Date.now();
    const { res, clientSecret } = await requestEmailToken('Strauß.User@Example.ORG');
    assert.equal(res.status, 200, res.text);
    // Folding makes `ss` of `ß`: another mailbox, so the mail goes to the form the user typed.
    const { mail, token } = await mailTo(world.smtp, 'strauß.user@example.org', started);
    assert.deepEqual(mail.to, ['strauß.user@example.org']);
    // Both forms are private: the folded one the session keeps, and the one matrix-js-sdk would hash
    // (`toLowerCase()`, keeping ß), which the session keeps too, sealed, for the directory.
    secretsUsed.add(token).add('strauss.user@example.org').add('strauß.user@example.org');

    const submitted = await call<{ success: boolean }>(
      '/_matrix/identity/v2/validate/email/submitToken',
      json({ sid: res.body.sid, client_secret: clientSecret, token }, bearer(user.token)),
    );
    assert.deepEqual([submitted.status, submitted.body], [200, { success: true }]);

    const validated = await call<{ medium: string; address: string; validated_at: number }>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=${res.body.sid}&client_secret=${clientSecret}`,
      { headers: bearer(user.token) },
    );
    assert.equal(validated.status, 200);
    assert.deepEqual(Object.keys(validated.body).sort(), ['address', 'medium', 'validated_at']);
    assert.equal(validated.body.medium, 'email');
    assert.equal(validated.body.address, 'strauss.user@example.org');
    assert.ok(Math.abs(validated.body.validated_at - Date.now()) < 60_000);
  });

  it('sends nothing for a send_attempt it has seen, and the same sid; a higher one sends again', async () => {
    const email = `attempts-${Date.now()}@example.org`;
    const clientSecret = newClientSecret();
    const first = await requestEmailToken(email, { clientSecret, sendAttempt: 1 });
    await mailTo(world.smtp, email);
    const again = await requestEmailToken(email, { clientSecret, sendAttempt: 1 });
    assert.equal(again.res.body.sid, first.res.body.sid);
    await new Promise((ok) => setTimeout(ok, 500));
    assert.equal(world.smtp.messages.filter((m) => m.to.includes(email)).length, 1, 'no second mail');

    const higher = await requestEmailToken(email, { clientSecret, sendAttempt: 2 });
    assert.equal(higher.res.body.sid, first.res.body.sid);
    await world.smtp.waitForMessage(
      (m) => m.to.includes(email) && world.smtp.messages.filter((x) => x.to.includes(email)).length === 2,
    );
  });

  it('answers a wrong sid and a wrong client secret with the same M_NO_VALID_SESSION', async () => {
    const { res, clientSecret } = await requestEmailToken(`probe-${Date.now()}@example.org`);
    const wrongSecret = await call<Record<string, unknown>>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=${res.body.sid}&client_secret=not-${clientSecret}`,
      { headers: bearer(user.token) },
    );
    const wrongSid = await call<Record<string, unknown>>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=AAAAAAAAAAAAAAAAAAAAAA&client_secret=${clientSecret}`,
      { headers: bearer(user.token) },
    );
    assert.equal(wrongSecret.status, 404);
    assert.equal(wrongSecret.body.errcode, 'M_NO_VALID_SESSION');
    assert.deepEqual(wrongSid.body, wrongSecret.body);
    assert.equal(wrongSid.status, wrongSecret.status);
  });

  it('locks a session after five wrong tokens: the right token no longer works', async () => {
    const email = `lockout-${Date.now()}@example.org`;
    const { res, clientSecret } = await requestEmailToken(email);
    const { token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    const submit = (t: string) =>
      call<{ errcode?: string }>(
        '/_matrix/identity/v2/validate/email/submitToken',
        json({ sid: res.body.sid, client_secret: clientSecret, token: t }, bearer(user.token)),
      );
    for (let i = 0; i < 5; i += 1) {
      const wrong = await submit(`wrong${i}`);
      assert.deepEqual([wrong.status, wrong.body.errcode], [400, 'M_TOKEN_INCORRECT']);
    }
    const locked = await submit(token);
    assert.equal(locked.status, 400);
    assert.equal(locked.body.errcode, 'M_SESSION_EXPIRED');
  });

  it('expires a session 24 h after its last change', async () => {
    const email = `expiry-${Date.now()}@example.org`;
    const { res, clientSecret } = await requestEmailToken(email);
    const { token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    world.setClockOffset(24 * 3_600_000 + 60_000);
    try {
      const late = await call<{ errcode?: string }>(
        '/_matrix/identity/v2/validate/email/submitToken',
        json({ sid: res.body.sid, client_secret: clientSecret, token }, bearer(user.token)),
      );
      assert.deepEqual([late.status, late.body.errcode], [400, 'M_SESSION_EXPIRED']);
    } finally {
      world.setClockOffset(0);
    }
  });

  it('redirects GET submitToken (the link in the mail, no bearer token) to the next_link', async () => {
    const email = `nextlink-${Date.now()}@example.org`;
    const nextLink = 'https://client.example.org/validated?state=42';
    await requestEmailToken(email, { nextLink });
    const { link, token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    const path = new URL(link);
    const res = await call(`${path.pathname}${path.search}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), nextLink);
  });

  it('renders the brand page for GET submitToken without a next_link, and a 4xx page for a bad token', async () => {
    const email = `page-${Date.now()}@example.org`;
    const { res, clientSecret } = await requestEmailToken(email);
    const { token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    const base = `/_matrix/identity/v2/validate/email/submitToken?sid=${res.body.sid}&client_secret=${clientSecret}`;
    const bad = await call(`${base}&token=not-the-token`);
    assert.ok(bad.status >= 400 && bad.status < 500);
    assert.match(bad.headers.get('content-type') ?? '', /^text\/html/);
    const good = await call(`${base}&token=${token}`);
    assert.equal(good.status, 200);
    assert.match(good.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(good.text, /<html/i);
  });

  it('uses the brand the request names', async () => {
    const email = `brand-${Date.now()}@example.org`;
    await requestEmailToken(email, { query: '?brand=custom' });
    const { mail } = await mailTo(world.smtp, email);
    assert.equal(mail.parsed.subject, 'Custom brand code');
    assert.match(mail.parsed.text ?? '', /^Custom brand\./);
  });

  it('accepts a form-encoded v1 request with send_attempt as a string', async () => {
    const email = `v1form-${Date.now()}@example.org`;
    const clientSecret = newClientSecret();
    secretsUsed.add(clientSecret).add(email);
    const res = await call<{ sid: string }>('/_matrix/identity/api/v1/validate/email/requestToken', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_secret: clientSecret, email, send_attempt: '1' }).toString(),
    });
    assert.equal(res.status, 200, res.text);
    const { token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    const submitted = await call<{ success: boolean }>(
      '/_matrix/identity/api/v1/validate/email/submitToken',
      json({ sid: res.body.sid, client_secret: clientSecret, token }),
    );
    assert.deepEqual(submitted.body, { success: true });
  });

  it('answers M_EMAIL_SEND_ERROR when the mail server refuses the message', async () => {
    const { res } = await requestEmailToken(`refused-${Date.now()}@example.org`);
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_EMAIL_SEND_ERROR');
  });

  it('sends again for the same send_attempt after the mail server refused the first mail', async () => {
    const email = `flaky-${Date.now()}@example.org`;
    const clientSecret = newClientSecret();
    const refused = await requestEmailToken(email, { clientSecret, sendAttempt: 1 });
    assert.deepEqual([refused.res.status, refused.res.body.errcode], [400, 'M_EMAIL_SEND_ERROR']);
    const again = await requestEmailToken(email, { clientSecret, sendAttempt: 1 });
    assert.equal(again.res.status, 200, again.res.text);
    const { token } = await mailTo(world.smtp, email);
    secretsUsed.add(token);
    const submitted = await call<{ success: boolean }>(
      '/_matrix/identity/v2/validate/email/submitToken',
      json({ sid: again.res.body.sid, client_secret: clientSecret, token }, bearer(user.token)),
    );
    assert.deepEqual(submitted.body, { success: true });
    // Sent now: the same send_attempt is used up.
    const third = await requestEmailToken(email, { clientSecret, sendAttempt: 1 });
    assert.equal(third.res.body.sid, again.res.body.sid);
  });
});

describe('phone validation', () => {
  it('sends the token through the SMS provider and validates the number', async () => {
    const clientSecret = newClientSecret();
    secretsUsed.add(clientSecret).add('447400123456');
    const res = await call<{ sid: string }>(
      '/_matrix/identity/v2/validate/msisdn/requestToken',
      json(
        { client_secret: clientSecret, country: 'GB', phone_number: '07400 123456', send_attempt: 1 },
        bearer(user.token),
      ),
    );
    assert.equal(res.status, 200, res.text);
    const sms = world.sms.sent.find((s) => s.to === '+447400123456');
    assert.ok(sms, 'the provider was asked to send to the E.164 number');
    assert.equal(sms.from, '+15550001111');
    assert.match(sms.authorization, /^Basic /);
    const token = /\d{6}/.exec(sms.body)?.[0];
    assert.ok(token);
    secretsUsed.add(token);
    const submitted = await call<{ success: boolean }>(
      '/_matrix/identity/v2/validate/msisdn/submitToken',
      json({ sid: res.body.sid, client_secret: clientSecret, token }, bearer(user.token)),
    );
    assert.deepEqual(submitted.body, { success: true });
    const validated = await call<{ medium: string; address: string }>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=${res.body.sid}&client_secret=${clientSecret}`,
      { headers: bearer(user.token) },
    );
    assert.deepEqual([validated.body.medium, validated.body.address], ['msisdn', '447400123456']);
  });

  it('refuses a number that is not valid with M_INVALID_ADDRESS', async () => {
    const res = await call<{ errcode: string }>(
      '/_matrix/identity/v2/validate/msisdn/requestToken',
      json(
        { client_secret: newClientSecret(), country: 'GB', phone_number: '12', send_attempt: 1 },
        bearer(user.token),
      ),
    );
    assert.deepEqual([res.status, res.body.errcode], [400, 'M_INVALID_ADDRESS']);
  });
});

describe('privacy', () => {
  it('writes no address, token, client secret, access token or user ID to the event stream or the logs', () => {
    const stream = natsStoreBytes(system);
    const logs = system.output.join('\n');
    assert.ok(secretsUsed.size > 10, 'the tests above used secrets worth looking for');
    assert.ok(
      stream.includes('TokenIssued'),
      'the store files hold the session events (the search reads the right files)',
    );
    assert.ok(
      stream.includes('AccountRegistered') && stream.includes('TermsAccepted'),
      'the store files hold registrations and terms acceptances',
    );
    assert.ok([...secretsUsed].filter((value) => value.startsWith('@')).length >= 3, 'user IDs are looked for');
    assert.match(logs, /session {2}\| /, 'the services logged');
    for (const secret of secretsUsed) {
      assert.equal(stream.includes(secret), false, `the stream holds ${secret}`);
      assert.equal(logs.includes(secret), false, `the logs hold ${secret}`);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type IOpenIDToken, type MatrixClient, MatrixError, SERVICE_TYPES } from 'matrix-js-sdk';
import type { Logger } from 'matrix-js-sdk/lib/logger.js';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, mailTo, newClientSecret } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld, TERMS_URLS } from './system/outside-world.js';
import { type RunningSystem, startSystem } from './system/running-system.js';
import { stopSystemAndWorld } from './system/system-with-user.js';

// Element's own client library (matrix-js-sdk 36.2.0, the newest that runs on Node 20) against the
// whole running system: every identity server call Element makes (account, terms, validation, hash
// details, hashed lookups) goes through the SDK's own methods, on the wire exactly as the SDK writes
// it; the bind in between is made as Synapse makes it. The SDK's
// fetch is wrapped only to record what it sent and to check each answer against the spec's schema.
//
// Mail and SMS counts are read at once, without waiting: requestToken answers only after the
// notifier has recorded the delivery's outcome, and the mail catcher and the SMS provider record a
// message before they accept it.
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({ env: world.env });
  call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
});
after(() => stopSystemAndWorld(system, world));

/** A request as the SDK put it on the wire. */
interface SentRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  authorization: string | null;
}

const silent: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  getChild: () => silent,
};

/**
 * A client as Element makes one: the homeserver as baseUrl, Tessera as the identity server. The
 * identity server calls tested here take the identity access token as an argument; the SDK's
 * `identityServer` provider only feeds calls to the homeserver (binds, invites).
 */
function sdkClient() {
  const sent: SentRequest[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    sent.push({ method, path: url.pathname, body, authorization: new Headers(init?.headers).get('authorization') });
    const res = await call(url, init);
    return new Response(res.text, { status: res.status, headers: res.headers });
  };
  const client: MatrixClient = createClient({
    baseUrl: world.homeserver.url,
    idBaseUrl: system.baseUrl,
    fetchFn,
    logger: silent,
  });
  const lastSent = (path: string) => {
    const request = sent.findLast((r) => r.path === path);
    assert.ok(request, `the SDK called ${path}`);
    return request;
  };
  return { client, lastSent };
}

/** The shape of the homeserver's POST /user/{userId}/openid/request_token answer, which the SDK passes on whole. */
const openIdToken = (accessToken: string): IOpenIDToken => ({
  access_token: accessToken,
  token_type: 'Bearer',
  matrix_server_name: world.homeserver.serverName,
  expires_in: 3600,
});

let openIds = 0;
/** An OpenID token the fake homeserver vouches for, for `@localpart`. */
function openIdTokenFor(localpart: string): IOpenIDToken {
  const accessToken = `openid-sdk-${++openIds}-${Date.now()}`;
  world.homeserver.addOpenIdToken(accessToken, `@${localpart}:${world.homeserver.serverName}`);
  return openIdToken(accessToken);
}

/** Resolves to the MatrixError the SDK rejected with (fails if it resolved). */
async function matrixErrorOf(promise: Promise<unknown>): Promise<MatrixError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MatrixError, `a MatrixError, not ${String(err)}`);
    return err;
  }
  assert.fail('the SDK call succeeded');
}

/** Element's terms flow: every policy's URL in the user's language (English here), agreed in one call. */
async function acceptTerms(client: MatrixClient, token: string) {
  const terms = await client.getTerms(SERVICE_TYPES.IS, system.baseUrl);
  const urls = Object.values(terms.policies).map((policy) => {
    const english = policy.en;
    assert.ok(typeof english === 'object' && english !== null, 'each policy has an English version');
    return english.url;
  });
  await client.agreeToTerms(SERVICE_TYPES.IS, system.baseUrl, token, urls);
  return urls;
}

/** A client registered with Tessera and past its terms: where Element is before it adds an email or phone. */
async function registeredClient(localpart: string) {
  const sdk = sdkClient();
  const { token } = await sdk.client.registerWithIdentityServer(openIdTokenFor(localpart));
  await acceptTerms(sdk.client, token);
  return { ...sdk, token };
}

const mailsTo = (address: string) => world.smtp.messages.filter((m) => m.to.includes(address)).length;

describe('matrix-js-sdk 36.2.0: account and terms', () => {
  it('registerWithIdentityServer exchanges the homeserver OpenID token for an identity server token', async () => {
    const { client, lastSent } = sdkClient();
    const openId = openIdTokenFor('sdk-register');
    const answer = await client.registerWithIdentityServer(openId);
    assert.deepEqual(lastSent('/_matrix/identity/v2/account/register').body, { ...openId });
    assert.match(answer.token, /^[A-Za-z0-9]{64}$/);
    // Element reads `token || access_token` (Sydent once answered access_token only).
    assert.equal(answer.access_token, answer.token);
    // A real token: /account says the terms are missing (403), not that the token is unknown (401).
    const refused = await matrixErrorOf(client.getIdentityAccount(answer.token));
    assert.deepEqual([refused.httpStatus, refused.errcode], [403, 'M_TERMS_NOT_SIGNED']);
  });

  it('refuses the SDK a token the homeserver does not vouch for', async () => {
    const { client } = sdkClient();
    const refused = await matrixErrorOf(client.registerWithIdentityServer(openIdToken('openid-never-issued')));
    assert.equal(refused.httpStatus, 401);
    assert.equal(refused.errcode, 'M_UNAUTHORIZED');
  });

  it('getTerms and agreeToTerms: the SDK reads the policies, agrees, and the token is let through', async () => {
    const { client, lastSent } = sdkClient();
    const { token } = await client.registerWithIdentityServer(openIdTokenFor('sdk-terms'));
    const before = await matrixErrorOf(
      client.requestEmailToken('terms-first@example.org', newClientSecret(), 1, undefined, token),
    );
    assert.deepEqual([before.httpStatus, before.errcode], [403, 'M_TERMS_NOT_SIGNED']);

    const terms = await client.getTerms(SERVICE_TYPES.IS, system.baseUrl);
    assert.deepEqual(terms.policies.terms_of_service?.en, { name: 'Terms of Service', url: TERMS_URLS.tosEn });
    assert.equal(terms.policies.terms_of_service?.version, '1.0');
    assert.equal(terms.policies.privacy_policy?.version, '2.1');

    const agreed = await acceptTerms(client, token);
    assert.deepEqual(lastSent('/_matrix/identity/v2/terms'), {
      method: 'POST',
      path: '/_matrix/identity/v2/terms',
      body: { user_accepts: agreed },
      authorization: `Bearer ${token}`,
    });
    assert.deepEqual(new Set(agreed), new Set([TERMS_URLS.tosEn, TERMS_URLS.privacyEn]));
    assert.deepEqual(await client.getIdentityAccount(token), { user_id: `@sdk-terms:${world.homeserver.serverName}` });
  });
});

describe('matrix-js-sdk 36.2.0: email', () => {
  it('requestEmailToken sends send_attempt as a string; Tessera mails once per attempt; the link validates', async () => {
    const { client, token, lastSent } = await registeredClient('sdk-email');
    const email = `sdk-email-${Date.now()}@example.org`;
    const clientSecret = newClientSecret();
    const nextLink = 'https://app.element.example/#/validated';

    const first = await client.requestEmailToken(email, clientSecret, 1, nextLink, token);
    assert.deepEqual(lastSent('/_matrix/identity/v2/validate/email/requestToken'), {
      method: 'POST',
      path: '/_matrix/identity/v2/validate/email/requestToken',
      body: { client_secret: clientSecret, email, send_attempt: '1', next_link: nextLink },
      authorization: `Bearer ${token}`,
    });
    assert.match(first.sid, /^[A-Za-z0-9._=-]+$/);
    assert.equal(mailsTo(email), 1);

    const again = await client.requestEmailToken(email, clientSecret, 1, nextLink, token);
    assert.equal(again.sid, first.sid);
    assert.equal(mailsTo(email), 1, 'no second mail for the same send_attempt');

    const secondSentAfter = Date.now();
    const higher = await client.requestEmailToken(email, clientSecret, 2, nextLink, token);
    assert.equal(lastSent('/_matrix/identity/v2/validate/email/requestToken').body?.send_attempt, '2');
    assert.equal(higher.sid, first.sid);
    assert.equal(mailsTo(email), 2, 'send_attempt 2 sends another mail');

    // The user's browser follows the newest mail's link: no bearer token, and Tessera sends it on to next_link.
    const { link } = await mailTo(world.smtp, email, secondSentAfter);
    assert.equal(new URL(link).origin, new URL(system.baseUrl).origin);
    const clicked = await fetch(link, { redirect: 'manual' });
    assert.equal(clicked.status, 302);
    assert.equal(clicked.headers.get('location'), nextLink);

    // The SDK has no getValidated3pid; what a homeserver asks next, as a plain call with the SDK's token.
    const validated = await call<{ medium: string; address: string; validated_at: number }>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=${first.sid}&client_secret=${clientSecret}`,
      { headers: bearer(token) },
    );
    assert.equal(validated.status, 200, validated.text);
    assert.deepEqual([validated.body.medium, validated.body.address], ['email', email]);
  });
});

describe('matrix-js-sdk 36.2.0: phone', () => {
  it('requestMsisdnToken sends send_attempt as a string; submitMsisdnToken validates with the SMS code', async () => {
    const { client, token, lastSent } = await registeredClient('sdk-phone');
    const clientSecret = newClientSecret();
    const smsTo = () => world.sms.sent.filter((s) => s.to === '+447400777888');

    const requested = await client.requestMsisdnToken('GB', '07400 777888', clientSecret, 1, undefined, token);
    assert.deepEqual(lastSent('/_matrix/identity/v2/validate/msisdn/requestToken').body, {
      client_secret: clientSecret,
      country: 'GB',
      phone_number: '07400 777888',
      send_attempt: '1',
    });
    assert.match(requested.sid, /^[A-Za-z0-9._=-]+$/);
    // The rest of what the SDK's IRequestMsisdnTokenResponse promises (Sydent's answer): Element shows `msisdn`.
    assert.deepEqual(
      [requested.success, requested.msisdn, requested.intl_fmt],
      [true, '447400777888', '+44 7400 777888'],
    );
    assert.equal(smsTo().length, 1);
    const again = await client.requestMsisdnToken('GB', '07400 777888', clientSecret, 1, undefined, token);
    assert.equal(again.sid, requested.sid);
    assert.equal(smsTo().length, 1, 'no second SMS for the same send_attempt');

    const code = /\d{6}/.exec(smsTo()[0]?.body ?? '')?.[0];
    assert.ok(code, 'the SMS holds the code');
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await matrixErrorOf(client.submitMsisdnToken(requested.sid, clientSecret, wrongCode, token));
    assert.equal(wrong.errcode, 'M_TOKEN_INCORRECT');
    const submitted = await client.submitMsisdnToken(requested.sid, clientSecret, code, token);
    assert.deepEqual(lastSent('/_matrix/identity/v2/validate/msisdn/submitToken'), {
      method: 'POST',
      path: '/_matrix/identity/v2/validate/msisdn/submitToken',
      body: { sid: requested.sid, client_secret: clientSecret, token: code },
      authorization: `Bearer ${token}`,
    });
    assert.deepEqual(submitted, { success: true });

    const validated = await call<{ medium: string; address: string }>(
      `/_matrix/identity/v2/3pid/getValidated3pid?sid=${requested.sid}&client_secret=${clientSecret}`,
      { headers: bearer(token) },
    );
    assert.deepEqual(
      [validated.status, validated.body.medium, validated.body.address],
      [200, 'msisdn', '447400777888'],
    );
  });
});

describe('matrix-js-sdk 36.2.0: binding and hashed lookup', () => {
  /** The address validated as the SDK does it, then bound as Synapse binds it (POST /v2/3pid/bind with the IS token). */
  async function validatedAndBound(client: MatrixClient, token: string, email: string, userId: string) {
    const clientSecret = newClientSecret();
    const sentAfter = Date.now();
    const { sid } = await client.requestEmailToken(email, clientSecret, 1, undefined, token);
    // To the address as typed, lower-cased: for ß, not the case-folded `ss` form (another mailbox).
    const { link } = await mailTo(world.smtp, email.toLowerCase(), sentAfter);
    assert.equal((await fetch(link)).status, 200);
    const bound = await call<{ mxid: string; address: string }>('/_matrix/identity/v2/3pid/bind', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ sid, client_secret: clientSecret, mxid: userId }),
    });
    assert.equal(bound.status, 200, bound.text);
    return bound.body;
  }

  it('getIdentityHashDetails, identityHashedLookup, lookupThreePid and bulkLookupThreePids find a fresh binding', async () => {
    const { client, token, lastSent } = await registeredClient('sdk-lookup');
    const userId = `@sdk-lookup:${world.homeserver.serverName}`;
    const email = `SDK.Lookup.${Date.now()}@Example.org`;
    const bound = await validatedAndBound(client, token, email, userId);
    assert.equal(bound.address, email.toLowerCase());

    const details = await client.getIdentityHashDetails(token);
    assert.ok(details.algorithms.includes('sha256'));
    assert.match(details.lookup_pepper, /^\S+$/);

    const unknown = `nobody.${Date.now()}@example.org`;
    const found = await client.identityHashedLookup(
      [
        [email, 'email'],
        [unknown, 'email'],
      ],
      token,
    );
    assert.deepEqual(found, [{ address: email, mxid: userId }]);
    const sent = lastSent('/_matrix/identity/v2/lookup').body;
    assert.deepEqual([sent?.algorithm, sent?.pepper], ['sha256', details.lookup_pepper]);

    assert.deepEqual(await client.lookupThreePid('email', email, token), {
      address: email,
      medium: 'email',
      mxid: userId,
    });
    assert.deepEqual(await client.lookupThreePid('email', unknown, token), {});
    const bulk = await client.bulkLookupThreePids(
      [
        ['email', email],
        ['email', unknown],
      ],
      token,
    );
    assert.deepEqual(bulk.threepids, [['email', email, userId]]);
  });

  it('finds an address whose lower-cased and case-folded forms differ (ß), as the SDK hashes toLowerCase', async () => {
    const { client, token } = await registeredClient('sdk-eszett');
    const userId = `@sdk-eszett:${world.homeserver.serverName}`;
    const email = `Jürgen.Straße.${Date.now()}@Example.DE`;
    const bound = await validatedAndBound(client, token, email, userId);
    assert.equal(bound.address, email.toLowerCase().replace('ß', 'ss'), 'bound under the fully case-folded form');
    assert.deepEqual(await client.identityHashedLookup([[email, 'email']], token), [{ address: email, mxid: userId }]);
    // The folded form, as a client that folds would send it, finds it too.
    const folded = email.toLowerCase().replace('ß', 'ss');
    assert.deepEqual(await client.identityHashedLookup([[folded, 'email']], token), [
      { address: folded, mxid: userId },
    ]);
  });
});

import assert from 'node:assert/strict';
import type { ReceivedMail, TestSmtpServer } from '@tessera/test-harness';
import type { ObservedFetch } from '../spec/spec-validator.js';
import { type OutsideWorld, TERMS_URLS } from './outside-world.js';

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let users = 0;
const VALIDATION_LINK = /https?:\/\/\S+\/submitToken\?\S+/;

/** A v2 account through the real OpenID exchange with the fake homeserver; terms accepted unless asked not to. */
export async function registerUser(call: ObservedFetch, world: OutsideWorld, { acceptTerms = true } = {}) {
  users += 1;
  const openIdToken = `openid-${users}-${Date.now()}`;
  const userId = `@user${users}:${world.homeserver.serverName}`;
  world.homeserver.addOpenIdToken(openIdToken, userId);
  const res = await call<{ token: string }>(
    '/_matrix/identity/v2/account/register',
    json({
      access_token: openIdToken,
      token_type: 'Bearer',
      matrix_server_name: world.homeserver.serverName,
      expires_in: 3600,
    }),
  );
  assert.equal(res.status, 200, res.text);
  if (acceptTerms) {
    const accepted = await call(
      '/_matrix/identity/v2/terms',
      json({ user_accepts: [TERMS_URLS.tosEn, TERMS_URLS.privacyEn] }, bearer(res.body.token)),
    );
    assert.equal(accepted.status, 200, accepted.text);
  }
  return { token: res.body.token, userId };
}

/** The newest validation mail to `address` (an invite mail to it is passed over), and the token and link it carries. */
export async function mailTo(smtp: TestSmtpServer, address: string, after = 0, timeoutMs = 10_000) {
  const mail: ReceivedMail = await smtp.waitForMessage(
    (m) => m.to.includes(address) && m.receivedAt.getTime() >= after && VALIDATION_LINK.test(m.parsed.text ?? ''),
    timeoutMs,
  );
  const text = mail.parsed.text ?? '';
  const link = VALIDATION_LINK.exec(text)?.[0];
  assert.ok(link, 'the mail holds the validation link');
  const token = new URL(link).searchParams.get('token');
  assert.ok(token, 'the link holds the token');
  return { mail, link, token };
}

let secrets = 0;
export const newClientSecret = () => `cs-${Date.now()}-${++secrets}`;

/**
 * Validates `address` by mail (v2, as `user`) and binds it to `user`: the flow that makes a
 * binding, and with it the onbind of any invite pending for the address.
 */
export async function validateEmailAndBind(
  call: ObservedFetch,
  smtp: TestSmtpServer,
  user: { token: string; userId: string },
  address: string,
) {
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const requested = await call<{ sid: string }>(
    '/_matrix/identity/v2/validate/email/requestToken',
    json({ client_secret: clientSecret, email: address, send_attempt: 1 }, bearer(user.token)),
  );
  assert.equal(requested.status, 200, requested.text);
  const { link } = await mailTo(smtp, address.toLowerCase(), sentAfter);
  assert.equal((await fetch(link)).status, 200);
  const bound = await call(
    '/_matrix/identity/v2/3pid/bind',
    json({ sid: requested.body.sid, client_secret: clientSecret, mxid: user.userId }, bearer(user.token)),
  );
  assert.equal(bound.status, 200, bound.text);
}

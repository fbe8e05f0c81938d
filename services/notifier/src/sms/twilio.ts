import { postToProvider } from './provider-request.js';
import type { SmsProvider } from './sms-provider.js';

export const TWILIO_DEFAULT_URL = 'https://api.twilio.com';

export type TwilioOptions = {
  /** TESSERA_SMS_URL: Twilio's API or a compatible one. */
  baseUrl?: string | undefined;
  /** TESSERA_SMS_USERNAME: the account SID. */
  accountSid: string;
  /** TESSERA_SMS_PASSWORD: the auth token. */
  authToken: string;
  /** TESSERA_SMS_FROM: a Twilio number (E.164) or an alphanumeric sender id. */
  from: string;
  timeoutMs?: number;
};

/**
 * Twilio's Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, a form body with
 * To (E.164 with `+`), From and Body, Basic auth with the account SID and auth token. It answers
 * 201 with the message resource, whose `sid` is the message id; a refusal carries a numeric
 * Twilio error `code`, which the refusal names.
 */
export function createTwilioProvider({
  baseUrl = TWILIO_DEFAULT_URL,
  accountSid,
  authToken,
  from,
  timeoutMs = 10_000,
}: TwilioOptions): SmsProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
  return {
    async send({ to, body }) {
      const response = await postToProvider(
        {
          provider: 'Twilio',
          url,
          username: accountSid,
          password: authToken,
          contentType: 'application/x-www-form-urlencoded',
          body: new URLSearchParams({ To: `+${to}`, From: from, Body: body }).toString(),
          timeoutMs,
        },
        (answer) => {
          const code = (answer as { code?: unknown } | null)?.code;
          return typeof code === 'number' ? `Twilio error ${code}` : undefined;
        },
      );
      const sid = (response.body as { sid?: unknown } | null)?.sid;
      return typeof sid === 'string' ? { messageId: sid } : {};
    },
  };
}

/** One SMS: `to` is an MSISDN, E.164 digits without the `+`. */
export type SmsMessage = { to: string; body: string };

export interface SmsProvider {
  /** Resolves once the provider accepted the message, with its id for it when it gives one. */
  send(message: SmsMessage): Promise<{ messageId?: string }>;
}

/**
 * The provider said no (a 4xx answer: a number it will not send to, our credentials, our sender):
 * sending the same message again would get the same answer. The message names no number or body.
 */
export class SmsRefused extends Error {
  override readonly name = 'SmsRefused';
}

/** The provider could not be reached, timed out, or failed (5xx, 429): a later try may work. */
export class SmsUnavailable extends Error {
  override readonly name = 'SmsUnavailable';
}

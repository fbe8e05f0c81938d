/**
 * The text of a validation SMS; `{token}` stands for the token. Sydent's default, and what an
 * operator of Sydent configured as `bodyTemplate` works the same way (only `{token}` is
 * substituted). Kept a constant, not a template file: an SMS has no brand, no markup and no
 * headers, and startNotifier takes another text for a deployment that wants one.
 */
export const SMS_BODY_TEMPLATE = 'Your code is {token}';

export function smsBody(template: string, token: string): string {
  return template.replaceAll('{token}', token);
}

/** What a validation mail's link carries. */
export type MailedLink = { sid: string; clientSecret: string; token: string };

/**
 * Reads the submitToken link of a validation mail as it went over SMTP: the parts are
 * quoted-printable, so soft line breaks are joined and escapes decoded first. The plain-text part
 * comes first, and its link is not HTML-escaped.
 */
export function mailedLink(rawMessage: string): MailedLink | null {
  const text = rawMessage
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const link = /https?:\/\/\S+\/submitToken\?\S+/.exec(text)?.[0];
  if (link === undefined) return null;
  const params = new URL(link).searchParams;
  const [sid, clientSecret, token] = [params.get('sid'), params.get('client_secret'), params.get('token')];
  return sid && clientSecret && token ? { sid, clientSecret, token } : null;
}

// The link in a validation mail: GET submitToken with the session's proof in the query.
//
// The v1 path, as Sydent writes it: GET submitToken needs no bearer token on either tree and
// behaves the same on both, and this path is the one that mail links have always carried, so
// proxies and allow-lists that let Sydent's links through let ours through too. The session's
// next_link is not in the link: the session service keeps it (sealed) and redirects there
// itself, so a link cannot be edited into an open redirect.
export const SUBMIT_TOKEN_PATH = '/_matrix/identity/api/v1/validate/email/submitToken';

/** `${publicBaseUrl}/_matrix/identity/api/v1/validate/email/submitToken?token=…&client_secret=…&sid=…` */
export function verificationLink(
  publicBaseUrl: string,
  { token, clientSecret, sid }: { token: string; clientSecret: string; sid: string },
): string {
  const query = [
    ['token', token],
    ['client_secret', clientSecret],
    ['sid', sid],
  ]
    .map(([name, value]) => `${name}=${encodeURIComponent(value ?? '')}`)
    .join('&');
  return `${publicBaseUrl.replace(/\/+$/, '')}${SUBMIT_TOKEN_PATH}?${query}`;
}

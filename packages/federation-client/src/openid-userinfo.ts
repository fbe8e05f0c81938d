import type { HttpsResponse } from './guarded-request.js';
import { parseJsonBody } from './json-body.js';
import { OutboundError } from './outbound-error.js';

export const USERINFO_PATH = '/_matrix/federation/v1/openid/userinfo';

// What homeservers answer for an unknown or expired token: 401 M_UNKNOWN_TOKEN (Synapse, the spec's
// example); 403 and 404 come from servers that refuse or do not serve OpenID for it. Either way: no user.
const REJECTING_STATUSES = new Set([401, 403, 404]);

/** The homeserver said no to the token itself, as opposed to failing. */
export const rejectsToken = (response: HttpsResponse): boolean => REJECTING_STATUSES.has(response.status);

/** `sub` of a 200 reply; anything else (a 5xx, a redirect, no `sub`) is the homeserver's fault, not the token's. */
export function subOf(response: HttpsResponse): string {
  if (response.status !== 200)
    throw new OutboundError('unexpected-reply', `${response.from} answered userinfo with status ${response.status}`);
  const body = parseJsonBody(response);
  const sub = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).sub : undefined;
  if (typeof sub !== 'string' || sub === '')
    throw new OutboundError('unexpected-reply', `${response.from} answered userinfo without a string sub`);
  return sub;
}

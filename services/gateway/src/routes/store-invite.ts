import { normalizeEmail } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import type { StoreInviteResponse } from '@tessera/proto/tessera/invite/v1/invite';
import { brandOf, parseRoomId, parseUserId } from '@tessera/spec-params';
import type { RequestHandler } from 'express';
import { rateLimitSubjectOf } from '../client-ip.js';
import { bodyParams } from '../params.js';
import type { InviteRouteDeps } from './invite-deps.js';
import type { Tree } from './route.js';

// The fields the service takes one by one, and the guest credentials old Synapse versions added
// to their form bodies: never handed on.
const NOT_TEMPLATE_FIELDS = new Set(['medium', 'address', 'room_id', 'sender', 'guest_access_token', 'guest_user_id']);

/**
 * The largest `fields_json` handed on. Homeservers send a few short fields (room name, alias,
 * avatar, display names); all of them go into one sealed event, which must stay far below the
 * stream's message size whatever the body limit.
 */
export const MAX_INVITE_FIELDS_BYTES = 32 * 1024;

/**
 * POST store-invite. On v2 with a token and accepted terms, and `sender` must be the token's user
 * (403 M_UNAUTHORIZED, as Sydent answers); on v1 as JSON or a form body (Synapse's last fallback).
 * Required: medium (email only: 400 M_UNRECOGNIZED otherwise), address (M_INVALID_EMAIL when it
 * is not one), room_id (a room ID: it is copied into the mail), sender (a user ID). Counted per
 * sender, and on v1 per client IP too, before the service stores anything.
 */
export function storeInviteHandler({ invite, auth, gate, clientIpOf }: InviteRouteDeps, tree: Tree): RequestHandler {
  return async (req, res) => {
    const caller = tree === 'v2' ? await auth(req, { terms: true }) : undefined;
    const params = bodyParams(req, tree);
    const medium = params.requiredString('medium');
    const address = params.requiredString('address');
    const roomId = parseRoomId(params.requiredString('room_id'));
    const sender = parseUserId(params.requiredString('sender'), 'sender');
    const normalisedAddress = invitedEmailOf(medium, address);
    if (caller !== undefined && caller.userId !== sender)
      throw new TesseraError('M_UNAUTHORIZED', 'this user may not invite on behalf of another user', {
        httpStatus: 403,
      });
    const fieldsJson = JSON.stringify(templateFieldsOf(req.body as Record<string, unknown>));
    if (Buffer.byteLength(fieldsJson) > MAX_INVITE_FIELDS_BYTES)
      throw new TesseraError('M_TOO_LARGE', "the invite's optional fields are too large");
    // On v1 anyone may name any sender, so the caller's address is counted too (the requestToken
    // v1 counter: both send mail for anonymous callers); on v2 the sender is the token's user.
    const byAddress = tree === 'v1' ? { ip: rateLimitSubjectOf(clientIpOf(req)) } : {};
    await gate(res, { ...byAddress, sender });
    const brand = brandOf(req.query.brand) ?? '';
    const senderVerified = caller !== undefined;
    const stored = await invite.storeInvite({
      address,
      normalisedAddress,
      roomId,
      sender,
      fieldsJson,
      brand,
      senderVerified,
    });
    res.json(storeInviteAnswer(stored));
  };
}

/** The invited address, normalised (packages/addresses): invites go to email addresses only. */
function invitedEmailOf(medium: string, address: string): string {
  if (medium !== 'email')
    throw new TesseraError('M_UNRECOGNIZED', 'store-invite takes only the email medium', { httpStatus: 400 });
  return normalizeEmail(address);
}

/**
 * Every other field of the body, for the invite mail's template and the blocklists, extra keys
 * included (Synapse adds `org.matrix.web_client_location`): strings as sent, numbers and booleans
 * as strings, nulls left out (Synapse sends the optional fields it lacks as null), objects and
 * arrays left out too (no template variable shows them; Sydent keeps strings only). The body only:
 * the query string carries the gateway's own parameters (brand, access_token).
 */
function templateFieldsOf(body: Record<string, unknown>): Record<string, string> {
  // fromEntries makes own properties, so "__proto__" is a field like any other.
  return Object.fromEntries(
    Object.entries(body).flatMap(([name, value]) => {
      if (NOT_TEMPLATE_FIELDS.has(name)) return [];
      if (typeof value === 'string') return [[name, value]];
      if (typeof value === 'number' || typeof value === 'boolean') return [[name, String(value)]];
      return [];
    }),
  );
}

/**
 * The answer as Sydent gives it: the spec's {token, public_keys, display_name}, and the legacy
 * top-level `public_key` (the long-term key) that homeservers still read first.
 */
function storeInviteAnswer({ token, publicKeys, displayName }: StoreInviteResponse) {
  const [longTerm] = publicKeys;
  if (longTerm === undefined) throw new Error('the invite service answered store-invite without public keys');
  return {
    token,
    public_keys: publicKeys.map(({ publicKey, keyValidityUrl }) => ({
      public_key: publicKey,
      key_validity_url: keyValidityUrl,
    })),
    public_key: longTerm.publicKey,
    display_name: displayName,
  };
}

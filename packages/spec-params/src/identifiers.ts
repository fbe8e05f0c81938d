import { parseServerName } from '@tessera/federation-client';
import { invalidParam } from './invalid-param.js';

// Spec §1.2: client_secret and sid are 1 to 255 of [0-9a-zA-Z.=_-].
const OPAQUE_ID = /^[0-9a-zA-Z.=_-]{1,255}$/;
// Spec: a validation token has at most 255 code points; its format is the identity server's.
const MAX_TOKEN_CODE_POINTS = 255;

export function parseClientSecret(value: string): string {
  if (!OPAQUE_ID.test(value)) throw invalidParam('client_secret must be 1 to 255 of [0-9a-zA-Z.=_-]');
  return value;
}

/** A spec-shaped sid; one this server never made simply matches no session. */
export function parseSid(value: string): string {
  if (!OPAQUE_ID.test(value)) throw invalidParam('sid must be 1 to 255 of [0-9a-zA-Z.=_-]');
  return value;
}

/** The validation token as the user received it: passed on unchanged, 1 to 255 code points. */
export function parseValidationToken(value: string): string {
  const codePoints = [...value].length;
  if (codePoints === 0 || codePoints > MAX_TOKEN_CODE_POINTS)
    throw invalidParam(`token must be 1 to ${MAX_TOKEN_CODE_POINTS} characters`);
  return value;
}

// Spec appendix "User Identifiers": `@localpart:server_name`, 255 bytes at most; the localpart in
// the historical grammar servers must still accept (printable ASCII but `:`), not empty.
const MAX_USER_ID_BYTES = 255;
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * A Matrix user ID, unchanged (a bind's or unbind's `mxid`): M_INVALID_PARAM naming `name`
 * otherwise. The server name follows the federation client's grammar, so a user ID accepted here
 * names a server the directory can reach.
 */
export function parseUserId(value: string, name = 'mxid'): string {
  const colon = value.indexOf(':');
  const valid =
    value.startsWith('@') &&
    Buffer.byteLength(value, 'utf8') <= MAX_USER_ID_BYTES &&
    colon > 1 &&
    HISTORICAL_LOCALPART.test(value.slice(1, colon)) &&
    isServerName(value.slice(colon + 1));
  if (!valid) throw invalidParam(`${name} must be a Matrix user ID (@localpart:server.name)`);
  return value;
}

// Spec appendix "Room IDs": `!` then an opaque part, 255 bytes at most. Room versions before 12
// append `:server_name`; version 12 makes the opaque part a hash with no server name, so only the
// sigil and the length are sure. The ID is copied into the invite mail and the onbind call:
// whitespace and control characters (a newline would start a header) have no place in it, nor
// lone surrogates, which have no UTF-8 form.
const MAX_ROOM_ID_BYTES = 255;
const ROOM_ID = /^![^\s\p{Cc}\p{Cs}]+$/u;

/** A Matrix room ID, unchanged (store-invite's `room_id`): M_INVALID_PARAM naming `name` otherwise. */
export function parseRoomId(value: string, name = 'room_id'): string {
  if (!ROOM_ID.test(value) || Buffer.byteLength(value, 'utf8') > MAX_ROOM_ID_BYTES)
    throw invalidParam(`${name} must be a Matrix room ID (!opaque_id, at most ${MAX_ROOM_ID_BYTES} bytes)`);
  return value;
}

function isServerName(text: string): boolean {
  try {
    parseServerName(text);
    return true;
  } catch {
    return false;
  }
}

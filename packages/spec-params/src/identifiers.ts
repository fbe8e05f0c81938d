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

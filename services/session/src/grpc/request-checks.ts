// Checks of what the gateway sends. It validated everything already; the service checks again
// because it is the one that writes, and every refusal is a Matrix error naming the parameter,
// never repeating a secret or an address.
import { isIP } from 'node:net';
import { normalizeThreepid } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import { parseServerName } from '@tessera/federation-client';
import { Medium as WireMedium } from '@tessera/proto/tessera/session/v1/session';
import type { Medium } from '../domain/session.js';

const invalid = (message: string) => new TesseraError('M_INVALID_PARAM', message);

// Spec: client_secret and sid are [0-9a-zA-Z.=_-], 1 to 255 characters.
const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]{1,255}$/;
const SPEC_SID = /^[0-9a-zA-Z.=_-]{1,255}$/;
const MAX_TOKEN_CODE_POINTS = 255; // spec: a validation token has at most 255 code points
const MAX_NEXT_LINK = 4096; // sealed into an event: bounded so a decision stays a small message
const BRAND = /^[A-Za-z0-9_-]{1,64}$/; // a template folder name, as TESSERA_DEFAULT_BRAND
const COUNTRY = /^[A-Za-z]{2}$/;
const MAX_ACCESS_TOKEN = 4096;

export function checkMedium(medium: WireMedium): Medium {
  if (medium === WireMedium.MEDIUM_EMAIL) return 'email';
  if (medium === WireMedium.MEDIUM_MSISDN) return 'msisdn';
  throw invalid('medium must be email or msisdn');
}

export const mediumToWire = (medium: Medium): WireMedium =>
  medium === 'email' ? WireMedium.MEDIUM_EMAIL : WireMedium.MEDIUM_MSISDN;

/**
 * The address as the gateway normalised it (case-folded email, E.164 digits): checked again with
 * the same module; an address that normalises to something else was not normalised, and is refused
 * rather than silently changed (two spellings would make two sessions).
 */
export function checkAddress(medium: Medium, address: string): string {
  const normalised = normalizeThreepid(medium, address); // M_INVALID_EMAIL / M_INVALID_ADDRESS
  if (normalised !== address) throw invalid('address must be given in normalised form');
  return address;
}

export function checkClientSecret(clientSecret: string): string {
  if (!CLIENT_SECRET.test(clientSecret)) throw invalid('client_secret must be 1 to 255 characters of [0-9a-zA-Z.=_-]');
  return clientSecret;
}

/** Spec-valid sids that are not ours simply match no session; malformed ones are a bad parameter. */
export function checkSid(sid: string): string {
  if (!SPEC_SID.test(sid)) throw invalid('sid must be 1 to 255 characters of [0-9a-zA-Z.=_-]');
  return sid;
}

export function checkSendAttempt(sendAttempt: number): number {
  if (!Number.isSafeInteger(sendAttempt) || sendAttempt < 0)
    throw invalid('send_attempt must be a whole number from 0 to 2^53-1');
  return sendAttempt;
}

/** Only http(s): a next_link is where the browser goes after validation (no javascript:, no file:). */
export function checkNextLink(nextLink: string): string | null {
  if (nextLink === '') return null;
  if (nextLink.length > MAX_NEXT_LINK) throw invalid(`next_link must be at most ${MAX_NEXT_LINK} characters`);
  let url: URL;
  try {
    url = new URL(nextLink);
  } catch {
    throw invalid('next_link must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('next_link must be an http or https URL');
  return nextLink;
}

/** The country an SMS number was given with, upper-case; none for email. */
export function checkCountry(medium: Medium, country: string): string {
  if (medium === 'email' || country === '') return '';
  if (!COUNTRY.test(country)) throw invalid('country must be an ISO 3166-1 alpha-2 code');
  return country.toUpperCase();
}

/** Like Sydent, a brand that names no template folder falls back to the default brand (""). */
export const cleanBrand = (brand: string): string => (BRAND.test(brand) ? brand : '');

/** The client's IP address for the mail's "ipaddress"; anything else is dropped, not refused. */
export const cleanClientIp = (clientIp: string): string => (isIP(clientIp) === 0 ? '' : clientIp);

export function checkToken(token: string): string {
  const codePoints = [...token].length;
  if (codePoints === 0 || codePoints > MAX_TOKEN_CODE_POINTS)
    throw invalid(`token must have 1 to ${MAX_TOKEN_CODE_POINTS} characters`);
  return token;
}

/** A Matrix server name, lower-cased as Sydent does; M_INVALID_PARAM otherwise. */
export function checkServerName(matrixServerName: string): string {
  const parsed = serverNameOrNull(matrixServerName);
  if (parsed === null) throw invalid('matrix_server_name is not a valid server name');
  return parsed;
}

// The federation client's grammar (DNS name, IPv4, [IPv6], optional port), so both agree.
function serverNameOrNull(name: string): string | null {
  try {
    return parseServerName(name).text;
  } catch {
    return null;
  }
}

export function checkAccessToken(accessToken: string): string {
  if (accessToken === '' || accessToken.length > MAX_ACCESS_TOKEN)
    throw invalid(`access_token must have 1 to ${MAX_ACCESS_TOKEN} characters`);
  return accessToken;
}

/** The server part of a Matrix user id (`@localpart:server`), lower-cased; null when it is none. */
export function serverOfUserId(userId: string): string | null {
  if (!userId.startsWith('@') || userId.length > 255) return null;
  const colon = userId.indexOf(':');
  return colon < 2 ? null : serverNameOrNull(userId.slice(colon + 1));
}

/** The user id AcceptTerms is about: the gateway's authenticated user, so only its shape is checked. */
export function checkUserId(userId: string): string {
  if (serverOfUserId(userId) === null) throw invalid('user_id must be a Matrix user id');
  return userId;
}

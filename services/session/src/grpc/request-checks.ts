// Checks of what the gateway sends that only this service makes: the spec's own parameters are
// parsed with @tessera/spec-params, by the gateway and, where this service relies on them, here.
// Every refusal is a Matrix error naming the parameter, never repeating a secret or an address.
import { isIP } from 'node:net';
import { clientLowercaseEmail, normalizeEmail } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import { parseServerName } from '@tessera/federation-client';
import type { Medium } from '@tessera/spec-params';

const invalid = (message: string) => new TesseraError('M_INVALID_PARAM', message);

const COUNTRY = /^[A-Za-z]{2}$/;
const MAX_ACCESS_TOKEN = 4096;

/** The country an SMS number was given with, upper-case; none for email. */
export function checkCountry(medium: Medium, country: string): string {
  if (medium === 'email' || country === '') return '';
  if (!COUNTRY.test(country)) throw invalid('country must be an ISO 3166-1 alpha-2 code');
  return country.toUpperCase();
}

/**
 * The typed address as matrix-js-sdk lower-cases it (email only; empty: none), checked to be what
 * clientLowercaseEmail makes of a form of this very address, since the directory will index the
 * binding under it: a form of another address would make lookups of that one find this binding.
 */
export function checkClientLowercaseAddress(medium: Medium, address: string, form: string): string {
  if (form === '') return '';
  if (medium === 'email' && isClientLowercaseFormOf(address, form)) return form;
  throw invalid('client_lowercase_address must be a lower-cased form of the email address, different from it');
}

function isClientLowercaseFormOf(address: string, form: string): boolean {
  try {
    return clientLowercaseEmail(form) === form && normalizeEmail(form) === address;
  } catch {
    return false;
  }
}

/** The client's IP address for the mail's "ipaddress"; anything else is dropped, not refused. */
export const cleanClientIp = (clientIp: string): string => (isIP(clientIp) === 0 ? '' : clientIp);

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

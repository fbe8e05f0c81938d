import { TesseraError } from '@tessera/errors';
import { normalizeEmail } from './email.js';
import { isMsisdn } from './msisdn.js';

/**
 * The stored, hashed and compared form of a 3PID address that arrives as `{medium, address}`
 * (binds, lookups, invites): an email is checked and case-folded; an msisdn must already be E.164
 * digits without `+` (only requestToken takes a national number, through normalizeMsisdn).
 * Throws M_INVALID_EMAIL or M_INVALID_ADDRESS for a bad address and M_UNRECOGNIZED (400) for a
 * medium other than `email` and `msisdn`.
 */
export function normalizeThreepid(medium: string, address: string): string {
  switch (medium) {
    case 'email':
      return normalizeEmail(address);
    case 'msisdn':
      if (!isMsisdn(address)) throw new TesseraError('M_INVALID_ADDRESS', 'msisdn must be 5 to 15 digits, no +');
      return address;
    default:
      throw new TesseraError('M_UNRECOGNIZED', 'unknown medium', { httpStatus: 400 });
  }
}

import { TesseraError } from '@tessera/errors';
// The max metadata knows each country's number ranges, so isValid() can tell a real number from a
// merely well-shaped one (the default metadata checks little more than length).
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** A phone number as a 3PID address: E.164 digits without the leading `+`. */
export interface Msisdn {
  msisdn: string;
  /** The ISO 3166-1 alpha-2 country the number was given with, upper-case. */
  country: string;
  /** The number in international format, spaced for people to read (`+44 7400 123456`). */
  international: string;
}

// E.164: at most 15 digits, and country calling codes never start with 0. The shortest real numbers
// (small territories) have 5 digits with their country code.
const MSISDN = /^[1-9][0-9]{4,14}$/;
const COUNTRY = /^[A-Za-z]{2}$/;

// Messages never repeat the number: they reach the client and may reach a log.
const invalid = (reason: string): TesseraError => new TesseraError('M_INVALID_ADDRESS', reason);

/** True when `value` is already an msisdn (lookups and binds receive one directly, never a national number). */
export function isMsisdn(value: string): boolean {
  return typeof value === 'string' && MSISDN.test(value);
}

/**
 * Parses a phone number as a user typed it, in the national format of `country` (the country it is
 * dialled from) or internationally (`+44…`, `0044…` from FR), into an msisdn. Only numbers that
 * libphonenumber holds valid pass: UK drama numbers (07700 900xxx) do not. A number with an
 * extension is refused: the msisdn would name the switchboard, not the person's phone. Countries
 * libphonenumber does not know (including `UK`, which is not ISO 3166-1) are refused too.
 * Throws M_INVALID_ADDRESS.
 */
export function normalizeMsisdn({ phoneNumber, country }: { phoneNumber: string; country: string }): Msisdn {
  if (typeof country !== 'string' || !COUNTRY.test(country))
    throw invalid('country must be an ISO 3166-1 alpha-2 code');
  const region = country.toUpperCase();
  if (!isSupportedCountry(region)) throw invalid('unknown country');
  if (typeof phoneNumber !== 'string') throw invalid('phone number must be a string');
  const parsed = parsePhoneNumberFromString(phoneNumber, region);
  if (parsed === undefined || !parsed.isValid() || parsed.ext !== undefined) throw invalid('not a valid phone number');
  const msisdn = parsed.number.slice(1); // E.164 "+447400123456" → "447400123456"
  if (!isMsisdn(msisdn)) throw invalid('not a valid phone number'); // a guard: valid numbers always fit E.164
  return { msisdn, country: region, international: parsed.formatInternational() };
}

import { invalidParam } from './invalid-param.js';

const ASCII_DIGITS = /^[0-9]+$/;

/**
 * `send_attempt`: a JSON integer or a string of ASCII digits (Element's matrix-js-sdk sends
 * `sendAttempt.toString()`, form bodies carry nothing but strings, and Sydent takes both), from 0
 * to 2^53-1: the proto field is an int64 read as a JS number, which is exact only that far.
 * Anything else (negative, fractional, signed, spaced, empty, not a number) is M_INVALID_PARAM.
 */
export function parseSendAttempt(value: unknown): number {
  const attempt =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && ASCII_DIGITS.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(attempt) || attempt < 0)
    throw invalidParam('send_attempt must be a whole number from 0 to 2^53-1 (a JSON integer or a string of digits)');
  return attempt === 0 ? 0 : attempt; // -0 (JSON `-0`) is 0
}

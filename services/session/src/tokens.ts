import { randomInt } from 'node:crypto';
import type { Medium } from '@tessera/spec-params';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DIGITS = '0123456789';

// randomInt draws without modulo bias, so every character is equally likely.
function randomString(alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[randomInt(alphabet.length)];
  return text;
}

/** Sydent's formats: 32 letters and digits for a mail (pasted or clicked), 6 digits for an SMS (typed). */
export function newValidationToken(medium: Medium): string {
  return medium === 'email' ? randomString(ALPHANUMERIC, 32) : randomString(DIGITS, 6);
}

/** An identity server access token: 64 letters and digits, as Sydent makes them. */
export function newAccessToken(): string {
  return randomString(ALPHANUMERIC, 64);
}

/** Short and random: tells apart the deliveries of one sid and send_attempt across session generations. */
export function newDeliveryNonce(): string {
  return randomString(ALPHANUMERIC, 8);
}

import { createHash, createHmac } from 'node:crypto';

/**
 * What a subject (an IP address, a phone number, a user id) becomes in a KV key: the subjects are
 * personal data and the bucket is readable by whoever operates NATS. With the server secret the
 * digest is an HMAC, so a phone number cannot be found by hashing all of them; without one it is
 * plain SHA-256 (still no plaintext, but guessable for small spaces such as IPv4 addresses).
 * Base64url: every character is allowed in a KV key.
 */
export function subjectDigester(secret?: Uint8Array): (subject: string) => string {
  if (secret === undefined) return (subject) => createHash('sha256').update(subject, 'utf8').digest('base64url');
  const key = Buffer.from(secret);
  return (subject) => createHmac('sha256', key).update(subject, 'utf8').digest('base64url');
}

/** Thrown by decodeBase64 on text that is not base64 in either alphabet. */
export class Base64Error extends Error {
  override readonly name = 'Base64Error';
}

// One alphabet per string: a mix of `+/` and `-_` is no encoder's output, so it is garbage, not a variant.
const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/** Unpadded standard base64 (`+/`), the spec's form for keys and signatures. */
export function encodeBase64(bytes: Uint8Array): string {
  return toBuffer(bytes).toString('base64').replace(/=+$/, '');
}

/** Unpadded URL-safe base64 (`-_`), the spec's form for lookup hashes. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return toBuffer(bytes).toString('base64url'); // Node leaves base64url unpadded
}

/**
 * Decodes base64 in either alphabet, padded or not, as the spec asks decoders to. Validates first because
 * Buffer.from skips characters it does not know and decodes the rest, so garbage would pass as a shorter value.
 * Padding, when present, must be complete. Non-zero bits after the last byte are ignored, not rejected: the spec's
 * own test seed (`…XA1`) has them.
 */
export function decodeBase64(text: string): Uint8Array {
  const firstPad = text.indexOf('=');
  const data = firstPad === -1 ? text : text.slice(0, firstPad);
  const padding = text.length - data.length;
  if (!STANDARD.test(data) && !URL_SAFE.test(data)) throw new Base64Error('invalid base64 character');
  if (padding > 0 && (text.length % 4 !== 0 || padding > 2 || !/^=+$/.test(text.slice(firstPad)))) {
    throw new Base64Error('invalid base64 padding');
  }
  // Each 4 characters hold 3 bytes; a last group of 1 character holds fewer than 8 bits, so no byte at all.
  if (data.length % 4 === 1) throw new Base64Error('invalid base64 length');
  // Copy out of Buffer: callers get a plain Uint8Array, not a view into Node's shared pool.
  return new Uint8Array(Buffer.from(data, 'base64'));
}

/** The bytes of base64 text, or undefined when it is not base64 (for callers that answer "invalid" rather than throw). */
export function tryDecodeBase64(text: string): Uint8Array | undefined {
  try {
    return decodeBase64(text);
  } catch (err) {
    if (err instanceof Base64Error) return undefined;
    throw err;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

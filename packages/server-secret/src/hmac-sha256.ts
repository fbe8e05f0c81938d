import { createHash } from 'node:crypto';

// SHA-256 round constants (FIPS 180-4 §4.2.2) and initial hash value (§5.3.3). Words are kept
// as Int32 (the same bits): V8 computes on them as 32-bit integers, not as doubles.
const K = Int32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);
const INITIAL = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * HMAC-SHA256 (RFC 2104) under one fixed key, in JavaScript, answering base64url; the same bytes
 * as node:crypto's createHmac (the tests compare them on many keys and messages). Why not
 * createHmac: each HMAC object costs OpenSSL more (its context set up, about 2 µs) than the two
 * or three compressions of a short message, and the directory computes one per address of a bulk
 * lookup. Here the key's inner and outer states are computed once, so a message under 56 bytes
 * costs exactly two compressions and no allocation but its answer. Data-independent arithmetic
 * only (no table indexed by key or message), so it leaks no more by timing than OpenSSL's.
 */
export function hmacSha256Base64url(key: Uint8Array): (message: string) => string {
  const blockKey = new Uint8Array(BLOCK_BYTES);
  // A key longer than a block is hashed first (RFC 2104 §2).
  blockKey.set(key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key);
  const innerStart = new Int32Array(INITIAL);
  const outerStart = new Int32Array(INITIAL);
  const words = new Int32Array(64);
  for (let i = 0; i < 16; i++) words[i] = readWord(blockKey, 4 * i) ^ 0x36363636;
  compress(innerStart, words);
  for (let i = 0; i < 16; i++) words[i] = readWord(blockKey, 4 * i) ^ 0x5c5c5c5c;
  compress(outerStart, words);
  blockKey.fill(0);

  let message = Buffer.alloc(4 * BLOCK_BYTES);
  const state = new Int32Array(8);
  const digest = Buffer.alloc(DIGEST_BYTES);
  return (text) => {
    const length = Buffer.byteLength(text, 'utf8');
    // The message, 0x80, zeros, and the bit length of key block + message in the last 8 bytes.
    const padded = Math.ceil((length + 9) / BLOCK_BYTES) * BLOCK_BYTES;
    if (message.length < padded) message = Buffer.alloc(padded);
    message.write(text, 0, length, 'utf8');
    message.fill(0, length, padded);
    message[length] = 0x80;
    const bits = (BLOCK_BYTES + length) * 8;
    message.writeUInt32BE(Math.floor(bits / 2 ** 32), padded - 8);
    message.writeUInt32BE(bits >>> 0, padded - 4);

    state.set(innerStart);
    for (let offset = 0; offset < padded; offset += BLOCK_BYTES) {
      for (let i = 0; i < 16; i++) words[i] = readWord(message, offset + 4 * i);
      compress(state, words);
    }
    // The outer hash: key block (done), then the inner digest, 0x80, zeros, and 768 bits.
    for (let i = 0; i < 8; i++) words[i] = state[i] as number;
    words[8] = 0x80000000;
    words.fill(0, 9, 15);
    words[15] = (BLOCK_BYTES + DIGEST_BYTES) * 8;
    state.set(outerStart);
    compress(state, words);
    for (let i = 0; i < 8; i++) digest.writeInt32BE(state[i] as number, 4 * i);
    return digest.toString('base64url');
  };
}

function readWord(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) << 24) |
    ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) |
    (bytes[at + 3] as number)
  );
}

/** One SHA-256 compression of the block in `w[0..15]` into `h` (FIPS 180-4 §6.2.2); uses w[16..63]. */
function compress(h: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] as number;
    const y = w[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (s1 + (w[i - 7] as number) + s0 + (w[i - 16] as number)) | 0;
  }
  let a = h[0] as number;
  let b = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let hh = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choose = (e & f) ^ (~e & g);
    const t1 = (hh + sigma1 + choose + (K[i] as number) + (w[i] as number)) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (sigma0 + majority) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] as number) + a;
  h[1] = (h[1] as number) + b;
  h[2] = (h[2] as number) + c;
  h[3] = (h[3] as number) + d;
  h[4] = (h[4] as number) + e;
  h[5] = (h[5] as number) + f;
  h[6] = (h[6] as number) + g;
  h[7] = (h[7] as number) + hh;
}

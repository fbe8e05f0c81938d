import { randomFillSync } from 'node:crypto';

// Every call into OpenSSL's generator costs a getpid() system call (its fork check), and system
// calls are dear on virtual machines: a validation session draws a dozen small random values.
// So small draws come from a pool filled by one call, as Node does for randomUUID and randomInt.
// Each byte of the pool is handed out once; a new draw never overlaps an earlier one.
const POOL_BYTES = 8192;
/** Larger draws gain nothing from the pool and would empty it at once. */
const MAX_POOLED = 256;

const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES; // empty: filled on first use

/** `size` bytes from the operating system's CSPRNG (through OpenSSL), in a Buffer of their own. */
export function randomBytes(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  if (size > MAX_POOLED) return randomFillSync(Buffer.alloc(size));
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size)); // a copy: the pool is refilled later
  pool.fill(0, offset, offset + size); // nothing handed out stays behind in the pool
  offset += size;
  return bytes;
}

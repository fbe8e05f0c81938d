import { normalizeThreepid } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import type { Threepid } from '@tessera/proto/tessera/directory/v1/directory';
import { type Medium, mediumToGrpc } from '@tessera/spec-params';

/** A 3PID as the directory takes it: medium on the wire, address normalised (packages/addresses). */
export function threepidOf(medium: string, address: string): Threepid {
  const normalised = normalizeThreepid(medium, address); // refuses any medium but email and msisdn
  return { medium: mediumToGrpc(medium as Medium), address: normalised };
}

/**
 * For lookups: a 3PID that cannot be bound (an unknown medium, an address that does not parse)
 * is simply not found, as Sydent answers it; null then.
 */
export function lookupThreepidOf(medium: string, address: string): Threepid | null {
  try {
    return threepidOf(medium, address);
  } catch (err) {
    if (err instanceof TesseraError) return null;
    throw err;
  }
}

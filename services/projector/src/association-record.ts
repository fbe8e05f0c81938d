import { normalizeThreepid } from '@tessera/addresses';

/** What the read model keeps of a signed association, read from its canonical JSON. */
export type AssociationRecord = {
  medium: 'email' | 'msisdn';
  /** The normalised address. */
  address: string;
  mxid: string;
  ts: number;
  notBefore: number;
  notAfter: number;
};

/**
 * The fields of a signed association (NOTES §1.5: `address`, `medium`, `mxid`, `ts`, `not_before`,
 * `not_after`, timestamps in milliseconds), the address normalised: an imported association keeps
 * the case its signer used (a replication peer's `Ivy@Example.org`), and the row, its lookups and
 * its hashes are of the 3PID, `ivy@example.org`. Null when the JSON is not one. The directory
 * wrote it, so null means a bug or tampering, never user input.
 */
export function parseAssociation(json: string): AssociationRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { medium, address, mxid, ts, not_before, not_after } = parsed as Record<string, unknown>;
  if (medium !== 'email' && medium !== 'msisdn') return null;
  if (typeof address !== 'string' || address === '' || typeof mxid !== 'string' || mxid === '') return null;
  if (!isMillis(ts) || !isMillis(not_before) || !isMillis(not_after)) return null;
  const normalised = normalisedOrNull(medium, address);
  if (normalised === null) return null;
  return { medium, address: normalised, mxid, ts, notBefore: not_before, notAfter: not_after };
}

function normalisedOrNull(medium: string, address: string): string | null {
  try {
    return normalizeThreepid(medium, address);
  } catch {
    return null;
  }
}

const isMillis = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

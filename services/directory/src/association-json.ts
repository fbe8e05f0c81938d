import { canonicalJson } from '@tessera/canonical-json';
import type { Medium } from '@tessera/spec-params';

/** Sydent's validity: an association is valid from its `ts` for 100 years (of 365 days, in ms). */
export const ASSOCIATION_LIFETIME_MS = 100 * 365 * 24 * 60 * 60 * 1000;

/** The association of NOTES §1.5 before it is signed: timestamps in ms, valid from `ts` for 100 years. */
export type UnsignedAssociation = {
  address: string;
  medium: Medium;
  mxid: string;
  ts: number;
  not_before: number;
  not_after: number;
};

export function associationOf(medium: Medium, address: string, mxid: string, ts: number): UnsignedAssociation {
  return { address, medium, mxid, ts, not_before: ts, not_after: ts + ASSOCIATION_LIFETIME_MS };
}

/** What signing answered, in canonical form: the text bind answers, the stream seals and lookup serves. */
export function canonicalSigned(json: string): string {
  return canonicalJson(JSON.parse(json) as unknown);
}

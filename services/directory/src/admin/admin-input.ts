import { clientLowercaseEmail, normalizeThreepid } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import type { Medium } from '@tessera/spec-params';

// A Matrix user ID as the spec's grammar allows it, loosely: `@localpart:server`, no whitespace.
const MXID = /^@[^\s:]+:\S+$/;
const MAX_MXID_LENGTH = 255;

export type AdminThreepid = { medium: Medium; address: string; clientLowercaseAddress: string };

/**
 * `{medium, address[, mxid]}` of an admin bind, unbind or import line: the address normalised as
 * every other path stores it (and, for an email, the matrix-js-sdk form to index as well). Throws
 * the Matrix error that names what is wrong.
 */
export function parseAdminThreepid(
  body: Record<string, unknown>,
  options: { withMxid: true },
): AdminThreepid & { mxid: string };
export function parseAdminThreepid(body: Record<string, unknown>, options: { withMxid: false }): AdminThreepid;
export function parseAdminThreepid(
  body: Record<string, unknown>,
  { withMxid }: { withMxid: boolean },
): AdminThreepid & { mxid?: string } {
  const { medium, address, mxid } = body;
  if (typeof medium !== 'string' || typeof address !== 'string')
    throw new TesseraError('M_MISSING_PARAMS', 'medium and address must be strings');
  const normalised = normalizeThreepid(medium, address);
  const threepid: AdminThreepid = {
    medium: medium as Medium,
    address: normalised,
    clientLowercaseAddress: medium === 'email' ? (clientLowercaseEmail(address) ?? '') : '',
  };
  if (!withMxid) return threepid;
  if (typeof mxid !== 'string') throw new TesseraError('M_MISSING_PARAMS', 'mxid must be a string');
  if (mxid.length > MAX_MXID_LENGTH || !MXID.test(mxid))
    throw new TesseraError('M_INVALID_PARAM', 'mxid must be a Matrix user ID (@user:server)');
  return { ...threepid, mxid };
}

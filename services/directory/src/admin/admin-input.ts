import { clientLowercaseEmail, normalizeThreepid } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import { type Medium, parseUserId } from '@tessera/spec-params';

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
  // The rule the public bind applies: an admin bind or an import stores no user ID it would refuse.
  return { ...threepid, mxid: parseUserId(mxid) };
}

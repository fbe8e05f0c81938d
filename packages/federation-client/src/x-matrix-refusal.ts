import { type ErrCode, TesseraError } from '@tessera/errors';

/** Why an X-Matrix signed request was not accepted. */
export type XMatrixRefusalReason =
  | 'missing' // no Authorization header of scheme X-Matrix
  | 'malformed' // an X-Matrix header outside the grammar, or headers naming different origins
  | 'wrong-destination' // its destination parameter names another server
  | 'unknown-key' // signed with a key id the origin does not publish
  | 'expired-key' // the key's validity has ended (valid_until_ts passed, or only in old_verify_keys)
  | 'bad-signature' // the signature does not verify over the rebuilt request
  | 'origin-refused' // the origin resolves only to addresses the outbound guard refuses
  | 'origin-unreachable' // the origin's key server did not answer (network, TLS, timeout)
  | 'bad-key-response'; // it answered, but not with a usable, self-signed key list

/**
 * What each reason answers. Missing or unreadable credentials, and a destination that is not us,
 * are 401 M_UNAUTHORIZED (identity spec §"Authentication", server-server spec on `destination`).
 * Credentials that are readable but fail are 403 M_FORBIDDEN, the unbind endpoint's answer for
 * "the credentials supplied were invalid" (its example: "Invalid homeserver signature"); Sydent
 * says 401 with M_FORBIDDEN, which matches neither. An origin we could not ask is not the caller's
 * fault: 502 M_UNKNOWN (Sydent: 500), like every other upstream failure here.
 */
const ANSWERS: Record<XMatrixRefusalReason, { errcode: ErrCode; status: number; message: string }> = {
  missing: { errcode: 'M_UNAUTHORIZED', status: 401, message: 'missing X-Matrix Authorization header' },
  malformed: { errcode: 'M_UNAUTHORIZED', status: 401, message: 'malformed X-Matrix Authorization header' },
  'wrong-destination': {
    errcode: 'M_UNAUTHORIZED',
    status: 401,
    message: 'the X-Matrix destination is not this server',
  },
  'unknown-key': { errcode: 'M_FORBIDDEN', status: 403, message: 'Invalid homeserver signature' },
  'expired-key': { errcode: 'M_FORBIDDEN', status: 403, message: 'Invalid homeserver signature' },
  'bad-signature': { errcode: 'M_FORBIDDEN', status: 403, message: 'Invalid homeserver signature' },
  'origin-refused': { errcode: 'M_FORBIDDEN', status: 403, message: 'Invalid homeserver signature' },
  'origin-unreachable': { errcode: 'M_UNKNOWN', status: 502, message: 'could not reach the origin homeserver' },
  'bad-key-response': { errcode: 'M_UNKNOWN', status: 502, message: 'invalid key response from the origin homeserver' },
};

/**
 * A signed request refused, with a Matrix error for the client. The wire message says little (the
 * four ways a signature fails read alike); `reason` and `detail` (host and port at most, never a
 * signature or a body) are for the caller's log.
 */
export class XMatrixRefusal extends TesseraError {
  readonly reason: XMatrixRefusalReason;
  readonly detail: string;

  constructor(reason: XMatrixRefusalReason, detail: string, options: { cause?: unknown } = {}) {
    const { errcode, status, message } = ANSWERS[reason];
    super(errcode, message, { httpStatus: status, cause: options.cause });
    this.reason = reason;
    this.detail = detail;
  }
}

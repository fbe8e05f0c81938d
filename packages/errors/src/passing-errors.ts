import { TesseraError } from './tessera-error.js';
import { TemporarilyUnavailable } from './unavailable.js';
import { answeredByService, isServiceError, toMatrixError } from './wire.js';

/**
 * Calls another service, passing its answer on: an errcode it chose (GetValidated3pid's
 * M_SESSION_NOT_VALIDATED, M_SESSION_EXPIRED, M_NO_VALID_SESSION) reaches our caller unchanged, and
 * a call that got no answer (down, too slow) is "try again later".
 */
export async function passingErrorsOn<T>(call: () => Promise<T>, backend: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isServiceError(err)) throw err;
    if (!answeredByService(err)) throw new TemporarilyUnavailable(`${backend}: ${err.details || err.code}`);
    const { status, body } = toMatrixError(err);
    const { errcode, error, ...extra } = body;
    throw new TesseraError(errcode, error, { httpStatus: status, ...(Object.keys(extra).length ? { extra } : {}) });
  }
}

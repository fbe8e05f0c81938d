import { isServiceError, type MatrixError, matrixErrorOf, TesseraError, toMatrixError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Response } from 'express';

/** The one way the gateway answers a failure: a Matrix error body, never a stack or a bare status. */
export function sendError(res: Response, err: unknown, log: Logger): void {
  const { status, body } = matrixErrorFor(err, log);
  if (res.headersSent) return;
  res.status(status).json(body);
}

/**
 * The status and Matrix body for any failure, in one place (GET submitToken renders the same
 * thing as HTML). Unexpected errors are logged here and hidden from the client.
 */
export function matrixErrorFor(err: unknown, log: Logger): MatrixError {
  if (err instanceof TesseraError) return matrixErrorOf(err);
  if (isServiceError(err)) {
    const mapped = toMatrixError(err);
    if (mapped.status >= 500) log.warn({ grpcCode: err.code, details: err.details }, 'backend call failed');
    return mapped;
  }
  log.error({ err }, 'unexpected error in the gateway');
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'internal error' } };
}

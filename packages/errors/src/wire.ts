import { Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { ERRCODES, type ErrCode, isErrCode } from './errcodes.js';
import { type ErrorExtra, TesseraError } from './tessera-error.js';

const ERRCODE_KEY = 'tessera-errcode';
const EXTRA_KEY = 'tessera-error-extra';
const HTTP_STATUS_KEY = 'tessera-http-status';

export interface MatrixErrorBody {
  errcode: ErrCode;
  error: string;
  [extra: string]: string | number | boolean;
}

export interface MatrixError {
  status: number;
  body: MatrixErrorBody;
}

export const UNAVAILABLE_MESSAGE = 'service temporarily unavailable';

/** Service side: what a gRPC handler answers for any thrown value. Unknown errors say nothing. */
export function toServiceError(err: unknown): Partial<StatusObject> {
  const e = err instanceof TesseraError ? err : new TesseraError('M_UNKNOWN', 'internal error', { cause: err });
  const metadata = new Metadata();
  metadata.set(ERRCODE_KEY, e.errcode);
  if (e.extra !== undefined) metadata.set(EXTRA_KEY, JSON.stringify(e.extra));
  if (e.httpStatus !== undefined) metadata.set(HTTP_STATUS_KEY, String(e.httpStatus));
  return { code: ERRCODES[e.errcode].grpc, details: e.message, metadata };
}

/** Gateway side: the HTTP status and Matrix body for a failed gRPC call. */
export function toMatrixError(err: ServiceError): MatrixError {
  const errcode = err.metadata?.get(ERRCODE_KEY)[0];
  if (isErrCode(errcode)) {
    const status = Number(err.metadata.get(HTTP_STATUS_KEY)[0] ?? ERRCODES[errcode].http);
    return { status, body: { ...readExtra(err.metadata), errcode, error: err.details } };
  }
  // No errcode: the call failed before reaching a handler (down, overloaded, too slow).
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)
    return { status: 503, body: { errcode: 'M_UNKNOWN', error: UNAVAILABLE_MESSAGE } };
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'internal error' } };
}

/** Any error thrown in the gateway itself: a TesseraError keeps its meaning, anything else is hidden. */
export function matrixErrorOf(err: TesseraError): MatrixError {
  return {
    status: err.httpStatus ?? ERRCODES[err.errcode].http,
    body: { ...err.extra, errcode: err.errcode, error: err.message },
  };
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

function readExtra(metadata: Metadata): ErrorExtra {
  const raw = metadata.get(EXTRA_KEY)[0];
  if (typeof raw !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as ErrorExtra) : {};
  } catch {
    return {};
  }
}

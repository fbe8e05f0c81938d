import { Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { ERRCODES, type ErrCode, isErrCode } from './errcodes.js';
import { type ErrorExtra, TesseraError } from './tessera-error.js';
import { TemporarilyUnavailable } from './unavailable.js';

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

/** What a client is told while a backend is down or too slow: try again later. */
export const UNAVAILABLE: MatrixError = Object.freeze({
  status: 503,
  body: Object.freeze({ errcode: 'M_UNKNOWN', error: UNAVAILABLE_MESSAGE }),
});

/** The status a gRPC handler ends a call with. */
export type ServiceStatus = Required<Pick<StatusObject, 'code' | 'details' | 'metadata'>>;

/**
 * Service side: what a gRPC handler answers for any thrown value. A TesseraError keeps its
 * errcode; TemporarilyUnavailable is UNAVAILABLE (503 at the gateway); anything else says nothing.
 */
export function toServiceError(err: unknown): ServiceStatus {
  if (err instanceof TemporarilyUnavailable) {
    const unavailable = new TesseraError('M_UNKNOWN', UNAVAILABLE_MESSAGE, { httpStatus: UNAVAILABLE.status });
    return { ...statusOf(unavailable), code: status.UNAVAILABLE };
  }
  return statusOf(err instanceof TesseraError ? err : new TesseraError('M_UNKNOWN', 'internal error', { cause: err }));
}

function statusOf(e: TesseraError): ServiceStatus {
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
  // No errcode: the call failed on the way (down, overloaded, too slow, or cut by a server that died).
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED || isCutStream(err)) return UNAVAILABLE;
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'internal error' } };
}

/**
 * A stream the connection ended before the server sent a status: grpc-js reports it as INTERNAL
 * "Received RST_STREAM with code …", e.g. when the server's process is killed mid-call (seen in
 * the scale-out fault test). Our services send an errcode with every status of their own, so this
 * is no answer of theirs; other INTERNALs without one (a message that does not parse) stay 500.
 */
const isCutStream = (err: ServiceError) =>
  err.code === status.INTERNAL && err.details.startsWith('Received RST_STREAM');

/**
 * Whether a service answered the call (its handler chose the errcode, and logged what needed
 * logging), as opposed to a call that failed on the way: no connection, a deadline, a reset.
 */
export function answeredByService(err: ServiceError): boolean {
  return isErrCode(err.metadata?.get(ERRCODE_KEY)[0]);
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

import type { ErrCode } from './errcodes.js';

/** Extra members of a Matrix error body, e.g. `mxid` with M_THREEPID_IN_USE. */
export type ErrorExtra = Readonly<Record<string, string | number | boolean>>;

export interface TesseraErrorOptions {
  cause?: unknown;
  extra?: ErrorExtra;
  /** Overrides the errcode's usual HTTP status (M_UNRECOGNIZED is 404, 405 or 400 by context). */
  httpStatus?: number;
}

/** An error the client is meant to see: its message goes on the wire, so it names no secret. */
export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  readonly errcode: ErrCode;
  readonly extra: ErrorExtra | undefined;
  readonly httpStatus: number | undefined;

  constructor(errcode: ErrCode, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errcode = errcode;
    this.extra = options.extra;
    this.httpStatus = options.httpStatus;
  }
}

/**
 * 403 M_TERMS_NOT_SIGNED: the caller has not accepted every current policy. Said by whichever
 * service checks the caller (the gateway after Authenticate, the session service inline).
 */
export function termsNotSigned(): TesseraError {
  return new TesseraError('M_TERMS_NOT_SIGNED', 'please accept the terms of service before continuing');
}

export { ERRCODES, type ErrCode, isErrCode } from './errcodes.js';
export { type ErrorExtra, TesseraError, type TesseraErrorOptions, termsNotSigned } from './tessera-error.js';
export {
  isServiceError,
  type MatrixError,
  type MatrixErrorBody,
  matrixErrorOf,
  toMatrixError,
  toServiceError,
  UNAVAILABLE_MESSAGE,
} from './wire.js';

export { ERRCODES, type ErrCode, isErrCode } from './errcodes.js';
export { passingErrorsOn } from './passing-errors.js';
export { type ErrorExtra, TesseraError, type TesseraErrorOptions, termsNotSigned } from './tessera-error.js';
export { TemporarilyUnavailable } from './unavailable.js';
export {
  answeredByService,
  isServiceError,
  type MatrixError,
  type MatrixErrorBody,
  matrixErrorOf,
  type ServiceStatus,
  toMatrixError,
  toServiceError,
  UNAVAILABLE,
  UNAVAILABLE_MESSAGE,
} from './wire.js';

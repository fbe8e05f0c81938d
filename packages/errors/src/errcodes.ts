import { status } from '@grpc/grpc-js';

// Each errcode we answer with, and its status on each wire. The errcode itself travels in gRPC
// metadata, so several errcodes may share one gRPC status.
export const ERRCODES = {
  M_BAD_JSON: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_DESTINATION_REJECTED: { http: 400, grpc: status.FAILED_PRECONDITION },
  M_EMAIL_SEND_ERROR: { http: 400, grpc: status.FAILED_PRECONDITION },
  M_FORBIDDEN: { http: 403, grpc: status.PERMISSION_DENIED },
  M_INVALID_ADDRESS: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_INVALID_EMAIL: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_INVALID_PARAM: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_INVALID_PEPPER: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_LIMIT_EXCEEDED: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  M_MISSING_PARAMS: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_NO_VALID_SESSION: { http: 404, grpc: status.NOT_FOUND },
  M_NOT_FOUND: { http: 404, grpc: status.NOT_FOUND },
  M_NOT_JSON: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_SEND_ERROR: { http: 400, grpc: status.FAILED_PRECONDITION },
  M_SESSION_EXPIRED: { http: 400, grpc: status.FAILED_PRECONDITION },
  M_SESSION_NOT_VALIDATED: { http: 400, grpc: status.FAILED_PRECONDITION },
  M_TERMS_NOT_SIGNED: { http: 403, grpc: status.PERMISSION_DENIED },
  M_THREEPID_IN_USE: { http: 400, grpc: status.ALREADY_EXISTS },
  M_TOKEN_INCORRECT: { http: 400, grpc: status.INVALID_ARGUMENT },
  M_TOO_LARGE: { http: 413, grpc: status.RESOURCE_EXHAUSTED },
  M_UNAUTHORIZED: { http: 401, grpc: status.UNAUTHENTICATED },
  M_UNKNOWN_TOKEN: { http: 401, grpc: status.UNAUTHENTICATED },
  // Unknown endpoint (404), wrong method (405), unknown medium (400): callers pass the status.
  M_UNRECOGNIZED: { http: 404, grpc: status.NOT_FOUND },
  M_UNKNOWN: { http: 500, grpc: status.INTERNAL },
} as const satisfies Record<string, { http: number; grpc: status }>;

export type ErrCode = keyof typeof ERRCODES;

export const isErrCode = (value: unknown): value is ErrCode =>
  typeof value === 'string' && Object.hasOwn(ERRCODES, value); // not `in`: "toString" is no errcode

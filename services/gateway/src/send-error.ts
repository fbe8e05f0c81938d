import type { ServerResponse } from 'node:http';
import {
  answeredByService,
  isServiceError,
  type MatrixError,
  matrixErrorOf,
  TemporarilyUnavailable,
  TesseraError,
  toMatrixError,
  UNAVAILABLE,
} from '@tessera/errors';
import { createLogThrottle, type Logger, type LogThrottle } from '@tessera/service-kit';
import { answerJson, writeAnswer } from './answer.js';

/**
 * The one way the gateway answers a failure, on both paths: a Matrix error body, never a stack or
 * a bare status.
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const { status, body } = matrixErrorFor(err, log);
  if (res.headersSent) return;
  writeAnswer(res, answerJson(body, status));
}

/**
 * The status and Matrix body for any failure, in one place (GET submitToken renders the same
 * thing as HTML). What a client can bring about at will is logged once and then counted (a
 * refusal, a backend that is down); only what nobody expected is logged at error, with its cause,
 * and hidden from the client.
 */
export function matrixErrorFor(err: unknown, log: Logger): MatrixError {
  if (err instanceof TesseraError) return matrixErrorOf(err); // meant for the client; its thrower logs what matters
  if (err instanceof TemporarilyUnavailable) {
    repeatsOf(log).log('warn', err.name, { problem: err.message }, 'backend unavailable');
    return UNAVAILABLE;
  }
  if (isServiceError(err)) {
    // An answer of the service was logged there, if at all; a call that never got one was not.
    if (!answeredByService(err))
      repeatsOf(log).log(
        'warn',
        `grpc ${err.code}`,
        { grpcCode: err.code, details: err.details },
        'backend call failed',
      );
    return toMatrixError(err);
  }
  const status = clientErrorStatus(err);
  if (status !== null) {
    log.debug({ status, problem: (err as Error).message }, 'request refused by the HTTP layer');
    return { status, body: { errcode: 'M_UNRECOGNIZED', error: 'the request could not be understood' } };
  }
  log.error({ err }, 'unexpected error in the gateway');
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'internal error' } };
}

/** A 4xx the HTTP layer (express, its router, body-parser) attached to an error: the request's fault. */
function clientErrorStatus(err: unknown): number | null {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500 ? status : null;
}

const throttles = new WeakMap<Logger, LogThrottle>();

/** One throttle per logger, so repeats are counted across every request the gateway answers. */
function repeatsOf(log: Logger): LogThrottle {
  let throttle = throttles.get(log);
  if (throttle === undefined) {
    throttle = createLogThrottle(log);
    throttles.set(log, throttle);
  }
  return throttle;
}

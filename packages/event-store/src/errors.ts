import { ErrorCode, NatsError } from 'nats';

/** JetStream API error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
export const WRONG_LAST_SEQUENCE = 10071;

/** Another decision was appended to the aggregate since it was loaded: reload and decide again. */
export class ConcurrencyConflict extends Error {
  override readonly name = 'ConcurrencyConflict';
  constructor(
    readonly subject: string,
    readonly expectedSeq: number,
    options?: ErrorOptions,
  ) {
    super(`${subject}: expected last sequence ${expectedSeq}, but the aggregate has moved on`, options);
  }
}

/**
 * NATS did not answer in time, or JetStream is not there (restarting, no quorum, connection
 * closed). The operation may or may not have taken effect; callers answer "try again later".
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

// Codes after which the store's state is unknown or unreachable, as opposed to a refused request.
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Timeout,
  ErrorCode.NoResponders,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.Disconnect,
  ErrorCode.JetStream408RequestTimeout,
]);

export function isUnavailable(err: unknown): boolean {
  return err instanceof NatsError && UNAVAILABLE_CODES.has(err.code);
}

export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof NatsError && err.api_error?.err_code === WRONG_LAST_SEQUENCE;
}

/** Turns the NATS errors that mean "unreachable" into StoreUnavailable; others pass unchanged. */
export function asStoreError(err: unknown, what: string): unknown {
  return isUnavailable(err) ? new StoreUnavailable(`${what}: ${(err as Error).message}`, { cause: err }) : err;
}

import { TemporarilyUnavailable } from '@tessera/errors';
import { ErrorCode, NatsError } from 'nats';

/** JetStream API error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
export const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059; // JetStream API err_code

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
 * The one error to throw for it: services send it as gRPC UNAVAILABLE (a 503 to clients), and
 * log it without a stack. Code that calls NATS itself wraps what it catches with asStoreError.
 */
export class StoreUnavailable extends TemporarilyUnavailable {
  override readonly name = 'StoreUnavailable';
}

// Codes after which the store's state is unknown or unreachable, as opposed to a refused request.
// "503" is both "no responders" and "JetStream not enabled" (JetStream still starting up).
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Timeout,
  ErrorCode.NoResponders,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Disconnect,
  ErrorCode.JetStream408RequestTimeout,
]);
// A JetStream API reply "JetStream system temporarily unavailable" (10008) or any other 503.
const API_UNAVAILABLE = 503;

/** A NATS error that means "unreachable or too slow right now", not "refused". */
export function isUnavailable(err: unknown): boolean {
  return err instanceof NatsError && (UNAVAILABLE_CODES.has(err.code) || err.api_error?.code === API_UNAVAILABLE);
}

/** The JetStream API's answer for a stream (or bucket) that does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === STREAM_NOT_FOUND;
}

export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof NatsError && err.api_error?.err_code === WRONG_LAST_SEQUENCE;
}

/**
 * Turns the NATS errors that mean "unreachable" into StoreUnavailable, saying what was being done
 * (`load tessera.session.<sid>`: never a secret); other errors pass unchanged.
 */
export function asStoreError(err: unknown, what: string): unknown {
  return isUnavailable(err) ? new StoreUnavailable(`${what}: ${(err as Error).message}`, { cause: err }) : err;
}

type AnyHandler = (request: never, call: never) => Promise<unknown>;

/**
 * Handlers whose NATS failures of any kind (a data key, a watched outcome, as well as the event
 * store's own loads and appends) that time out or find no server fail as StoreUnavailable, which
 * a client sees as "try again later" (503), never as an internal error.
 */
export function storeFailuresUnavailable<H extends Record<string, AnyHandler>>(handlers: H): H {
  const wrapped: Record<string, AnyHandler> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    wrapped[name] = async (request, call) => {
      try {
        return await handler(request, call);
      } catch (err) {
        throw asStoreError(err, name);
      }
    };
  }
  return wrapped as H;
}

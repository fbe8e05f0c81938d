import { TemporarilyUnavailable } from '@tessera/errors';

/**
 * PostgreSQL is unreachable or too slow right now (refused, reset, restarting, out of
 * connections, a statement cancelled on its timeout). The statement may or may not have taken
 * effect; the caller answers "try again later" (gRPC UNAVAILABLE, 503 at the gateway).
 */
export class DatabaseUnavailable extends TemporarilyUnavailable {
  override readonly name = 'DatabaseUnavailable';
}

// Socket errors on the way to the server.
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// SQLSTATEs that say "not now" rather than "not this": admin or crash shutdown, starting up, too
// many connections, a statement cancelled by statement_timeout. Class 08 (connection exception) too.
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
// pg's own errors, which carry no code: a pool or connection that timed out or went away.
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Cannot use a pool after calling end on the pool/,
  /^Query read timeout/,
];

/** An error that means "PostgreSQL unreachable or too slow right now", not "refused". */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailable) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')))
    return true;
  return DRIVER_MESSAGES.some((pattern) => pattern.test(err.message));
}

/** Turns the errors that mean "unreachable" into DatabaseUnavailable; other errors pass unchanged. */
export function asDatabaseError(err: unknown): unknown {
  if (err instanceof DatabaseUnavailable || !isDatabaseUnavailable(err)) return err;
  return new DatabaseUnavailable(`PostgreSQL: ${(err as Error).message}`, { cause: err });
}

import type { handleUnaryCall, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { withCorrelation } from '@tessera/correlation';
import { TemporarilyUnavailable, TesseraError, toServiceError } from '@tessera/errors';
import { correlationIdOf } from './correlation-metadata.js';
import { tracedServerCall } from './grpc-tracing.js';
import { createLogThrottle, type LogThrottle } from './log-throttle.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface UnaryContext {
  log: Logger;
  metrics: Metrics;
}

type UnaryHandler<Req, Res> = (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>;

/** One async handler per RPC of a generated server interface (its string index signature left out). */
export type UnaryHandlers<S extends UntypedServiceImplementation> = {
  [K in keyof S as string extends K ? never : K]: S[K] extends handleUnaryCall<infer Req, infer Res>
    ? UnaryHandler<Req, Res>
    : never;
};

/**
 * Turns every async handler of a service into a grpc-js handler: each call runs under the
 * caller's correlation id (a fresh one when it sent none), errors go through toServiceError
 * (unexpected ones are logged with their cause, never sent), and each call is counted and timed.
 */
export function unaryService<S extends UntypedServiceImplementation>(
  serviceName: string,
  handlers: UnaryHandlers<S>,
  { log, metrics }: UnaryContext,
): S {
  const unavailable = createLogThrottle(log);
  const wrapped: Record<string, handleUnaryCall<unknown, unknown>> = {};
  for (const [name, handler] of Object.entries(handlers) as [string, UnaryHandler<unknown, unknown>][]) {
    const method = `${serviceName}/${name}`;
    wrapped[name] = (call, callback) => {
      const stopTimer = metrics.grpcDuration.startTimer({ method });
      withCorrelation(correlationIdOf(call.metadata), () =>
        tracedServerCall(method, call.metadata, () => handler(call.request, call)),
      ).then(
        (response) => {
          stopTimer();
          metrics.grpcHandled.inc({ method, code: 'OK' });
          callback(null, response);
        },
        (err: unknown) => {
          stopTimer();
          const serviceError = toServiceError(err);
          metrics.grpcHandled.inc({ method, code: status[serviceError.code] ?? 'UNKNOWN' });
          logFailure(err, method, log, unavailable);
          callback(serviceError, null);
        },
      );
    };
  }
  return wrapped as S;
}

/**
 * What a failed call leaves in the log. Refusals the client caused, and failures the code that
 * threw them logged already (an unreachable homeserver: M_UNKNOWN with 502), leave nothing; a
 * backend that is down leaves one line and a count, without a stack; only what nobody expected (a
 * bug, an M_UNKNOWN meaning "internal error") is logged at error with its cause.
 */
function logFailure(err: unknown, method: string, log: Logger, unavailable: LogThrottle): void {
  if (err instanceof TemporarilyUnavailable) {
    unavailable.log('warn', `${err.name} ${method}`, { method, problem: err.message }, 'backend unavailable');
  } else if (!(err instanceof TesseraError)) {
    log.error({ err, method }, 'unexpected error in a gRPC handler');
  } else if (err.errcode === 'M_UNKNOWN' && (err.httpStatus ?? 500) === 500) {
    log.error({ err, method }, 'internal error in a gRPC handler');
  }
}

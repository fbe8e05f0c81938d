import {
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { TesseraError, toServiceError } from '@tessera/errors';
import { HealthService } from '@tessera/proto/grpc/health/v1/health';
import type { LogThrottle } from './log-throttle.js';
import type { Metrics } from './metrics.js';
import { peerCertificateNames } from './peer.js';

// The standard health service answers every client of the CA: the runner and load balancers probe
// it with certificates of their own, and it tells nothing but "serving".
const OPEN_PATHS: ReadonlySet<string> = new Set(Object.values(HealthService).map((method) => method.path));

export interface CallerCheckOptions {
  /** Certificate names (CN or DNS SAN) that may call; a caller needs one of them. */
  allowedClients: readonly string[];
  metrics: Pick<Metrics, 'grpcRefused'>;
  /** Where refusals go: one line per caller, then a count. */
  refusals: LogThrottle;
}

/**
 * The allow-list of a gRPC server, as an interceptor in front of every service it serves but
 * health: a caller whose verified client certificate carries none of the allowed names is answered
 * PERMISSION_DENIED (M_FORBIDDEN) before its request is read, and no handler runs.
 */
export function callerCheck({ allowedClients, metrics, refusals }: CallerCheckOptions): ServerInterceptor {
  const allowed = new Set(allowedClients);
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    if (OPEN_PATHS.has(method.path)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const names = peerCertificateNames(call);
            if (names.some((name) => allowed.has(name))) {
              pass(metadata);
              return;
            }
            metrics.grpcRefused.inc({ method: method.path });
            // One line per caller (by its certificate names), then a count: a refused client tends to retry.
            const fields = { peerNames: names, method: method.path };
            refusals.log('warn', names.join(','), fields, 'refused a caller that is not on the allow-list');
            call.sendStatus(toServiceError(new TesseraError('M_FORBIDDEN', 'this client may not call this service')));
          },
        }),
    });
  };
}

import { status } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

type ClientMetrics = { handled: Counter<'method' | 'code'>; duration: Histogram<'method'> };

// The registry of the process's service, set when it is made (createMetrics), so that every client
// the service makes counts its calls there without each call site passing it on. None before:
// clients made outside a service (tools, tests of something else) count nothing.
let current: ClientMetrics | undefined;

/** Makes the gRPC client metrics on `registry` the ones every client of this process counts in. */
export function registerClientMetrics(registry: Registry): void {
  current = {
    handled: new Counter({
      name: 'tessera_grpc_client_handled_total',
      help: 'gRPC calls made to other services, by method and status code',
      labelNames: ['method', 'code'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'tessera_grpc_client_handling_seconds',
      help: 'Time from making a gRPC call to its answer, by method',
      labelNames: ['method'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

/** Counts and times a call by its method and the status code it ended with. */
export async function countedClientCall<T>(method: string, call: () => Promise<T>): Promise<T> {
  const metrics = current;
  if (metrics === undefined) return call();
  const stopTimer = metrics.duration.startTimer({ method });
  try {
    const response = await call();
    metrics.handled.inc({ method, code: 'OK' });
    return response;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    metrics.handled.inc({ method, code: (typeof code === 'number' && status[code]) || 'UNKNOWN' });
    throw err;
  } finally {
    stopTimer();
  }
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { registerClientMetrics } from './grpc-client-metrics.js';

/** One registry per process, with Node's default metrics and the gRPC server and client metrics of the kit. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const grpcHandled = new Counter({
    name: 'tessera_grpc_server_handled_total',
    help: 'gRPC calls answered, by method and status code',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const grpcDuration = new Histogram({
    name: 'tessera_grpc_server_handling_seconds',
    help: 'Time to answer a gRPC call',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const grpcRefused = new Counter({
    name: 'tessera_grpc_server_refused_total',
    help: 'gRPC calls refused because the client certificate is not on the allow-list, by method',
    labelNames: ['method'] as const,
    registers: [registry],
  });
  registerClientMetrics(registry);
  return { registry, grpcHandled, grpcDuration, grpcRefused };
}

export type Metrics = ReturnType<typeof createMetrics>;
export type { Counter } from 'prom-client';

/**
 * A counter of the service's own on the process registry, so that a service counts what matters to
 * it (signatures made, mails sent) without depending on prom-client itself.
 */
export function createCounter<L extends string = never>(
  metrics: Metrics,
  options: { name: string; help: string; labelNames?: readonly L[] },
): Counter<L> {
  return new Counter<L>({ ...options, labelNames: options.labelNames ?? [], registers: [metrics.registry] });
}

/** A durable consumer whose lag /metrics reports. */
export type ConsumerLagSource = { stream: string; durable: string; lag(): Promise<number> };

const CONSUMER_LAG = 'tessera_consumer_lag_messages';
// The consumers reporting to each registry: one gauge serves them all, each under its labels.
const lagSources = new WeakMap<Registry, Set<ConsumerLagSource>>();

/**
 * Reports the consumer's lag (messages not yet settled) as tessera_consumer_lag_messages{stream,
 * durable}, asked of the server when /metrics is scraped (NaN when it does not answer). Returns
 * what stops reporting it.
 */
export function reportConsumerLag(metrics: Metrics, source: ConsumerLagSource): () => void {
  let sources = lagSources.get(metrics.registry);
  if (sources === undefined) {
    const reporting = new Set<ConsumerLagSource>();
    sources = reporting;
    lagSources.set(metrics.registry, reporting);
    new Gauge({
      name: CONSUMER_LAG,
      help: 'Messages a durable consumer has still to settle (not delivered yet, or delivered and not acked)',
      labelNames: ['stream', 'durable'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        // All at once, each given a second: a scrape while NATS is away must still answer within
        // Prometheus' timeout, or the service's other metrics (send failures) vanish with it.
        const lags = await Promise.all([...reporting].map((one) => lagWithin(one, LAG_QUERY_TIMEOUT_MS)));
        for (const [i, one] of [...reporting].entries())
          this.set({ stream: one.stream, durable: one.durable }, lags[i] ?? Number.NaN);
      },
    });
  }
  const reporting = sources;
  reporting.add(source);
  return () => reporting.delete(source);
}

const LAG_QUERY_TIMEOUT_MS = 1_000;

/** The consumer's lag, or NaN when the server does not answer within `timeoutMs`. */
async function lagWithin(source: ConsumerLagSource, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(Number.NaN), timeoutMs);
  });
  try {
    return await Promise.race([source.lag().catch(() => Number.NaN), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

import { Counter, Gauge, type Registry } from 'prom-client';

/** What a runner reports about itself to its metrics. */
export type ProjectionMetricsSource = {
  name: string;
  /** Stream's last sequence minus the checkpoint; asked when /metrics is scraped. */
  lag(): Promise<number>;
};

export type ProjectionMetrics = {
  applied: Counter<'projection'>;
  skipped: Counter<'projection'>;
  failedBatches: Counter<'projection'>;
  /** Stops reporting this runner's lag. */
  remove(): void;
};

const LAG = 'tessera_projection_lag_events';
// The runners reporting to each registry: one lag gauge serves them all, each under its label.
const sources = new WeakMap<Registry, Set<ProjectionMetricsSource>>();

/** The projection metrics on `registry` (made on first use, shared by every runner there). */
export function projectionMetrics(registry: Registry, source: ProjectionMetricsSource): ProjectionMetrics {
  let reporting = sources.get(registry);
  if (reporting === undefined) {
    const set = new Set<ProjectionMetricsSource>();
    reporting = set;
    sources.set(registry, set);
    new Gauge({
      name: LAG,
      help: "Messages of the stream not applied to the projection yet (the stream's last sequence minus its checkpoint)",
      labelNames: ['projection'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const one of set) this.set({ projection: one.name }, await one.lag().catch(() => Number.NaN));
      },
    });
  }
  reporting.add(source);
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'projection'> | undefined) ??
    new Counter({ name, help, labelNames: ['projection'] as const, registers: [registry] });
  const set = reporting;
  return {
    applied: counter(
      'tessera_projection_applied_total',
      'Messages applied to the projection (its checkpoint moved past them)',
    ),
    skipped: counter(
      'tessera_projection_redeliveries_skipped_total',
      'Messages delivered again that the checkpoint already covered, left alone',
    ),
    failedBatches: counter(
      'tessera_projection_failed_batches_total',
      'Batches rolled back (a database error or a throwing projection); each is tried again',
    ),
    remove: () => set.delete(source),
  };
}

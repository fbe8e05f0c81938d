import { Counter, Gauge, type Registry } from 'prom-client';
import type { FollowedKeysStats } from './followed-binding-keys.js';

const KEYS = 'tessera_projector_binding_keys_total';
const HELD = 'tessera_projector_binding_keys_held';

/**
 * How the bindings' data keys are had, read when /metrics is scraped: from the followed bucket
 * stream, or fetched one request each (a key not read yet, erased, or let go). Reports the
 * newest runner's keys: one runner is active per process.
 */
export function reportBindingKeys(registry: Registry, stats: () => FollowedKeysStats): void {
  registry.removeSingleMetric(KEYS);
  registry.removeSingleMetric(HELD);
  new Counter({
    name: KEYS,
    help: 'Data keys the associations projection used, by where they came from (followed: the bucket stream; fetched: one request)',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const { fromMemory, fetched } = stats();
      this.reset();
      this.inc({ source: 'followed' }, fromMemory);
      this.inc({ source: 'fetched' }, fetched);
    },
  });
  new Gauge({
    name: HELD,
    help: 'Binding keys read from the bucket stream and held until their AssociationBound is projected',
    registers: [registry],
    collect() {
      this.set(stats().held);
    },
  });
}

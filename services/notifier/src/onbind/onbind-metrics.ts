import type { Counter, Metrics } from '@tessera/service-kit';
import { counter } from '../metrics.js';

/**
 * How an onbind attempt ended: `delivered` (200), `failed` (tried again later), `abandoned`
 * (past give_up_at, or the call cannot be made), `repeated` (its request came again after the
 * outcome: nothing sent).
 */
export type OnbindOutcome = 'delivered' | 'failed' | 'abandoned' | 'repeated';

export type OnbindCounters = { attempts: Counter<'outcome'> };

export function createOnbindCounters(metrics: Metrics): OnbindCounters {
  return {
    attempts: counter(metrics, {
      name: 'tessera_notifier_onbind_attempts_total',
      help: 'Onbind calls to homeservers by outcome: delivered, failed (tried again later), abandoned, repeated (nothing sent)',
      labelNames: ['outcome'] as const,
    }),
  };
}

import { type Counter, createCounter, type Metrics } from '@tessera/service-kit';

export interface SigningCounters {
  signatures: Counter<'method' | 'caller'>;
  ephemeralKeypairs: Counter;
}

/** The signing service's own counters, next to the kit's per-method gRPC metrics (refused calls included). */
export function createSigningCounters(metrics: Metrics): SigningCounters {
  return {
    signatures: createCounter(metrics, {
      name: 'tessera_signing_signatures_total',
      help: 'JSON objects signed, by method (SignJson, SignJsonBatch: long-term key; SignJsonWithSeed: a caller-supplied key) and caller (what for: directory, associations; invite, onbind and invitations)',
      labelNames: ['method', 'caller'] as const,
    }),
    ephemeralKeypairs: createCounter(metrics, {
      name: 'tessera_signing_ephemeral_keypairs_total',
      help: 'Ephemeral invitation keypairs generated',
    }),
  };
}

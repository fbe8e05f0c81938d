import { type Counter, createCounter, type Metrics } from '@tessera/service-kit';

export interface SigningCounters {
  signatures: Counter<'method'>;
  ephemeralKeypairs: Counter;
  refused: Counter<'method'>;
}

/** The signing service's own counters, next to the kit's per-method gRPC metrics. */
export function createSigningCounters(metrics: Metrics): SigningCounters {
  return {
    signatures: createCounter(metrics, {
      name: 'tessera_signing_signatures_total',
      help: 'JSON objects signed, by method (SignJson: long-term key; SignJsonWithSeed: a caller-supplied key)',
      labelNames: ['method'] as const,
    }),
    ephemeralKeypairs: createCounter(metrics, {
      name: 'tessera_signing_ephemeral_keypairs_total',
      help: 'Ephemeral invitation keypairs generated',
    }),
    refused: createCounter(metrics, {
      name: 'tessera_signing_refused_calls_total',
      help: 'Calls refused because the client certificate is not on the allow-list, by method',
      labelNames: ['method'] as const,
    }),
  };
}

import { type Counter, createCounter, type Metrics } from '@tessera/service-kit';

/** What a message is for: a validation token (mail or SMS), or an invite. */
export type MessagePurpose = 'validation' | 'invite';

export type NotifierCounters = {
  /** Messages a provider accepted, by channel (email, sms) and purpose. */
  sent: Counter<'channel' | 'purpose'>;
  /** Deliveries that ended without a message, by channel, purpose and whether the provider refused. */
  failed: Counter<'channel' | 'purpose' | 'refused'>;
  /** TokenIssued or InviteStored events whose delivery had its outcome already: redeliveries, nothing sent. */
  repeated: Counter;
  /** Deliveries taken over after the lease of the notifier that had them ran out (it died, or stalled). */
  takenOver: Counter;
};

/** The counters on the process registry; a notifier started again in the same process finds them there. */
export function createNotifierCounters(metrics: Metrics): NotifierCounters {
  return {
    sent: counter(metrics, {
      name: 'tessera_notifier_messages_sent_total',
      help: 'Messages handed to the mail server or SMS provider, by channel and purpose (validation, invite)',
      labelNames: ['channel', 'purpose'] as const,
    }),
    failed: counter(metrics, {
      name: 'tessera_notifier_messages_failed_total',
      help: 'Messages not sent, by channel, purpose (validation, invite) and whether they were refused (true) or the provider was unreachable (false)',
      labelNames: ['channel', 'purpose', 'refused'] as const,
    }),
    repeated: counter(metrics, {
      name: 'tessera_notifier_deliveries_repeated_total',
      help: 'TokenIssued and InviteStored events seen again after their delivery was made; nothing is sent for them',
    }),
    takenOver: counter(metrics, {
      name: 'tessera_notifier_deliveries_taken_over_total',
      help: 'Deliveries taken over after the lease of the notifier that had them ran out, and sent again',
    }),
  };
}

/** A counter on the process registry, or the one registered there already under its name. */
export function counter<L extends string = never>(
  metrics: Metrics,
  options: { name: string; help: string; labelNames?: readonly L[] },
): Counter<L> {
  return (metrics.registry.getSingleMetric(options.name) as Counter<L> | undefined) ?? createCounter(metrics, options);
}

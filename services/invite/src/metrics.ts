import { type Counter, createCounter, type Metrics } from '@tessera/service-kit';
import { Gauge } from 'prom-client';

const OLDEST_ONBIND = 'tessera_invite_oldest_pending_onbind_age_seconds';

export type InviteCounters = {
  /** Invites stored by store-invite. */
  stored: Counter;
};

/** The counters on the process registry; a service started again in the same process finds them there. */
export function createInviteCounters(metrics: Metrics): InviteCounters {
  const name = 'tessera_invite_invites_stored_total';
  return {
    stored:
      (metrics.registry.getSingleMetric(name) as Counter | undefined) ??
      createCounter(metrics, { name, help: 'Invites stored by store-invite' }),
  };
}

/**
 * The age of the oldest onbind call still to be delivered (requested, neither delivered nor
 * abandoned), read from the read model when /metrics is scraped; 0 when there is none, NaN when
 * the read model does not answer.
 */
export function reportOldestPendingOnbind(metrics: Metrics, oldest: () => Promise<Date | null>, now: () => number) {
  metrics.registry.removeSingleMetric(OLDEST_ONBIND);
  new Gauge({
    name: OLDEST_ONBIND,
    help: 'Seconds since the oldest onbind call that is neither delivered nor abandoned was requested (0: none)',
    registers: [metrics.registry],
    async collect() {
      const requestedAt = await oldest().catch(() => undefined);
      if (requestedAt === undefined) this.set(Number.NaN);
      else this.set(requestedAt === null ? 0 : Math.max(0, (now() - requestedAt.getTime()) / 1000));
    },
  });
}

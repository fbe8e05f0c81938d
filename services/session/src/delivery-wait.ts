import { decodeEnvelope, type EventStore } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { NatsConnection } from 'nats';
import { deliverySubject } from './aggregates.js';

/** What the notifier reported for one delivery, or 'pending' when it has not reported yet. */
export type DeliveryOutcome =
  | { status: 'sent' }
  | { status: 'failed'; reason: string; refused: boolean }
  | { status: 'pending' };

/** The first outcome among a delivery's events (DeliveryStarted is no outcome). */
export function outcomeOf(events: readonly Event[]): DeliveryOutcome {
  for (const event of events) {
    if (event.payload?.$case === 'tokenSent') return { status: 'sent' };
    if (event.payload?.$case === 'tokenSendFailed') {
      const { reason, refused } = event.payload.value;
      return { status: 'failed', reason, refused };
    }
  }
  return { status: 'pending' };
}

export interface DeliveryWatch {
  /** Waits up to `waitMs` for the outcome, then looks at the stored delivery once; ends the watch. */
  outcome(waitMs: number): Promise<DeliveryOutcome>;
  /** Ends the watch without waiting (nothing was issued, or the append failed). */
  stop(): void;
}

export type WatchDelivery = (deliveryId: string) => DeliveryWatch;

/**
 * Listens on `tessera.delivery.<id>` with a core subscription: the notifier's JetStream publishes
 * reach core subscribers too. Start it before appending TokenIssued, so no outcome can come first.
 */
export function deliveryWatcher(nc: NatsConnection, store: EventStore): WatchDelivery {
  return (deliveryId) => {
    const subject = deliverySubject(deliveryId);
    let report: (outcome: DeliveryOutcome) => void = () => {};
    const reported = new Promise<DeliveryOutcome>((resolve) => {
      report = resolve;
    });
    const subscription = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const outcome = outcomeOf(decodeEnvelope(msg.data).events);
          if (outcome.status !== 'pending') report(outcome);
        } catch {
          // Not an envelope: not the notifier's; the stored delivery is looked at after the wait.
        }
      },
    });
    const stop = () => {
      if (!subscription.isClosed()) subscription.unsubscribe();
    };
    return {
      stop,
      async outcome(waitMs) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), waitMs);
        });
        try {
          const first = await Promise.race([reported, timedOut]);
          if (first !== 'timeout') return first;
        } finally {
          clearTimeout(timer);
          stop();
        }
        // Missed on the wire (a cluster route not yet aware of the subscription, a reconnect):
        // the stream has it if the notifier wrote it.
        return outcomeOf((await store.load(subject)).events);
      },
    };
  };
}

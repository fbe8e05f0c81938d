import { decodeEnvelope, type EventStore, StoreUnavailable } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { NatsConnection } from 'nats';
import { deliverySubject, everySubjectOf } from './aggregates.js';

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

/** Watches deliveries for one process; `close` ends its subscription. */
export type DeliveryWatcher = WatchDelivery & { close(): void };

/**
 * Listens on `tessera.delivery.>` with ONE core subscription per process (the notifier's JetStream
 * publishes reach core subscribers too) and hands each outcome to the request waiting for that
 * delivery. Start a watch before appending TokenIssued, so no outcome can come first.
 */
export function deliveryWatcher(nc: NatsConnection, store: EventStore): DeliveryWatcher {
  const waiting = new Map<string, (outcome: DeliveryOutcome) => void>(); // by delivery subject
  const subscription = nc.subscribe(everySubjectOf('delivery'), {
    callback: (err, msg) => {
      if (err !== null) return; // every wait then ends with the stored delivery
      const report = waiting.get(msg.subject);
      if (report === undefined) return; // another replica's delivery, or one nobody waits for any more
      try {
        const outcome = outcomeOf(decodeEnvelope(msg.data).events);
        if (outcome.status !== 'pending') report(outcome);
      } catch {
        // Not an envelope: not the notifier's; the stored delivery is looked at after the wait.
      }
    },
  });

  const watch: WatchDelivery = (deliveryId) => {
    const subject = deliverySubject(deliveryId);
    let report: (outcome: DeliveryOutcome) => void = () => {};
    const reported = new Promise<DeliveryOutcome>((resolve) => {
      report = resolve;
    });
    waiting.set(subject, report);
    const stop = () => {
      if (waiting.get(subject) === report) waiting.delete(subject);
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
        // the stream has it if the notifier wrote it. If the stream cannot be read now, the token
        // is issued all the same (durably, before the wait) and will be delivered: pending.
        try {
          return outcomeOf((await store.load(subject)).events);
        } catch (err) {
          if (err instanceof StoreUnavailable) return { status: 'pending' };
          throw err;
        }
      },
    };
  };
  return Object.assign(watch, {
    close() {
      if (!subscription.isClosed()) subscription.unsubscribe();
    },
  });
}

import { type EventStore, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { pollUntil } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';

const OUTCOMES = new Set(['TokenSent', 'TokenSendFailed']);

/** What the integration tests wait for: a delivery's events, its outcome, a consumer with nothing left to do. */
export function deliveryProbes(
  { nc, store }: { nc: NatsConnection; store: EventStore },
  consumer: { stream: string; durable: string },
) {
  const deliveryEvents = async (deliveryId: string): Promise<Event[]> =>
    (await store.load(subjectOf('delivery', deliveryId))).events;
  return {
    deliveryEvents,
    /** The delivery's events once it has TokenSent or TokenSendFailed. */
    outcomeOf: (deliveryId: string) =>
      pollUntil(`delivery ${deliveryId} has an outcome`, async () => {
        const events = await deliveryEvents(deliveryId);
        return events.some((event) => OUTCOMES.has(event.type)) ? events : undefined;
      }),
    consumerIdle: () =>
      pollUntil('the consumer has handled everything', async () => {
        const info = await (await nc.jetstreamManager()).consumers.info(consumer.stream, consumer.durable);
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      }),
  };
}

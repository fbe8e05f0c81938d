import type { Config } from '@tessera/config';
import {
  type ConsumedMessage,
  type ConsumerHandler,
  InvalidSubject,
  type RetryLater,
  type RunningConsumer,
  runConsumer,
} from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { type Logger, type Metrics, reportConsumerLag } from '@tessera/service-kit';
import type { NatsConnection } from 'nats';

// A message being worked on is kept with in-progress acks this many times per ack wait (which
// equals the lease): a live notifier's message is not delivered again, a dead one's comes back
// about one lease after its last heartbeat.
const HEARTBEATS_PER_ACK_WAIT = 3;

/**
 * The durable consumer of one kind of delivery (TokenIssued, InviteStored, OnbindRequested): one
 * pull subscription, up to TESSERA_NOTIFIER_CONCURRENCY deliveries in progress at once, and as
 * many unacknowledged on the server unless `maxAckPending` says more (messages handed back with a
 * delay count among them). Acks are plain publishes, not confirmed by a request/reply each:
 * a lost ack only brings the event back after one lease, and that repeat finds the delivery made
 * and sends nothing. The ack wait is the lease (TESSERA_DELIVERY_LEASE_MS), so that the message
 * of a notifier that died comes back when another may take its delivery over.
 */
export async function runDeliveryConsumer(
  nc: NatsConnection,
  options: {
    config: Pick<Config, 'TESSERA_DELIVERY_LEASE_MS' | 'TESSERA_NOTIFIER_CONCURRENCY'>;
    stream: string;
    durable: string;
    filterSubject: string;
    eventType: string;
    log: Logger;
    metrics: Metrics;
    handler: ConsumerHandler;
    maxAckPending?: number;
  },
): Promise<RunningConsumer> {
  const { config, stream, durable, filterSubject, eventType, log, metrics, handler } = options;
  const leaseMs = config.TESSERA_DELIVERY_LEASE_MS;
  const concurrency = config.TESSERA_NOTIFIER_CONCURRENCY;
  const maxAckPending = options.maxAckPending ?? concurrency;
  const consumer = await runConsumer(nc.jetstream(), {
    stream,
    durable,
    filterSubjects: [filterSubject],
    eventTypes: [eventType],
    ackWaitMs: leaseMs,
    progressHeartbeatMs: Math.floor(leaseMs / HEARTBEATS_PER_ACK_WAIT),
    maxAckPending,
    concurrency,
    confirmAcks: false,
    log,
    handler,
  });
  void consumer.done.finally(reportConsumerLag(metrics, consumer));
  return consumer;
}

type Payload = NonNullable<Event['payload']>;
type ValueOf<C extends Payload['$case']> = Extract<Payload, { $case: C }>['value'];

/**
 * The handler of a delivery consumer: `deliver` for each event of `payloadCase` in a message (a
 * decision holds one; with several, the message comes back for the soonest retry). An id that
 * cannot be a subject will not become one on a later try: `skipped` logs it, and it is passed over.
 */
export function eachDelivery<C extends Payload['$case']>(
  payloadCase: C,
  deliver: (value: ValueOf<C>, event: Event, message: ConsumedMessage) => Promise<RetryLater | undefined>,
  skipped: (value: ValueOf<C>, err: InvalidSubject) => void,
): ConsumerHandler {
  return async (message) => {
    let retry: RetryLater | undefined;
    for (const event of message.envelope.events) {
      if (event.payload?.$case !== payloadCase) continue;
      const value = event.payload.value as ValueOf<C>;
      try {
        retry = soonerRetry(retry, await deliver(value, event, message));
      } catch (err) {
        if (!(err instanceof InvalidSubject)) throw err;
        skipped(value, err);
      }
    }
    return retry;
  };
}

/** Of two answers for the deliveries of one message, the one that comes back soonest. */
function soonerRetry(current: RetryLater | undefined, next: RetryLater | undefined): RetryLater | undefined {
  if (next === undefined) return current;
  return current === undefined || next.retryInMs < current.retryInMs ? next : current;
}

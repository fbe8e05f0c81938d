import { type EventStore, handleCommand, type LoadedState } from '@tessera/event-store';
import type { Logger } from '@tessera/service-kit';
import { storedDeliveries } from './delivery-events.js';
import {
  availability,
  type Delivery,
  type DeliveryChannel,
  type DeliveryCommand,
  type DeliveryEvent,
  initial,
} from './domain/delivery.js';
import { holdLease, storeOutcome } from './lease-renewal.js';

// Writing to a delivery aggregate on behalf of one notifier: taking it on (or over), holding its
// lease while a send runs, recording the outcome.

export type LeaseDeps = { store: EventStore; now: () => Date; log: Logger; leaseMs: number };

/** What every log line about a delivery carries (a validation's `sid`; an invite's id is its delivery id). */
export type LogFields = { deliveryId: string; sid?: string; correlationId: string };

/** This notifier's hold on a delivery: the attempt it appended and the aggregate's last sequence since. */
export type Held = { deliveryId: string; channel: DeliveryChannel; attempt: number; seq: number };

export type TakeOn =
  | { status: 'taken'; held: Held }
  /** Another notifier holds it until `endsAt`: come back then. */
  | { status: 'leased'; endsAt: Date }
  /** It has its outcome already: nothing to do. */
  | { status: 'finished' };

/** A delivery this notifier believes it holds, as renewed last: decided on without loading it first. */
const believedHeld = ({ channel, attempt, seq }: Held, now: Date): LoadedState<Delivery> => ({
  state: { status: 'started', channel, attempt, leaseEndsAt: now },
  seq,
});

/**
 * Appends what `command` (StartDelivery or RefuseDelivery) decides. First as if the delivery were
 * new (expecting sequence 0, without loading it: the usual case); if it is not, loads it and
 * decides on what is there: taking it over when its lease has run out, expecting the sequence
 * just loaded, so that of several notifiers trying at once exactly one wins.
 */
export async function takeOn(
  deps: LeaseDeps,
  subject: string,
  command: Extract<DeliveryCommand, { type: 'StartDelivery' | 'RefuseDelivery' }>,
  correlationId: string,
): Promise<TakeOn> {
  const { deliveryId, channel } = command;
  const heldBy = (decided: DeliveryEvent[], seq: number): TakeOn => {
    const started = decided.find((event) => event.type === 'DeliveryStarted');
    const attempt = started?.type === 'DeliveryStarted' ? started.data.attempt : 0;
    return { status: 'taken', held: { deliveryId, channel, attempt, seq } };
  };
  const handled = await handleCommand(deps.store, subject, storedDeliveries, command, {
    correlationId,
    assume: { state: initial(), seq: 0 },
  });
  if (handled.events.length > 0) return heldBy(handled.events, handled.seq);
  const found = availability(handled.state, command.now);
  // Open but nothing decided cannot happen: both commands take an open delivery.
  return found.status === 'leased' ? found : { status: 'finished' };
}

export type LeaseKeeper = {
  /** Stops renewing (waiting for a renewal under way); the hold as it stands after the renewals. */
  release(): Promise<Held>;
};

/** Renews the lease while a send runs (holdLease); the send goes on even if it was taken over. */
export function keepLease(deps: LeaseDeps, subject: string, held: Held, fields: LogFields): LeaseKeeper {
  const { deliveryId, attempt, seq } = held;
  const keeping = holdLease(
    {
      store: deps.store,
      subject,
      decider: storedDeliveries,
      correlationId: fields.correlationId,
      seq,
      renewal: (now) => ({
        command: { type: 'RenewLease', deliveryId, attempt, leaseMs: deps.leaseMs, now } satisfies DeliveryCommand,
        believed: believedHeld(held, now).state,
      }),
    },
    deps,
    {
      log: deps.log,
      fields: { ...fields, attempt },
      takenOver: 'delivery taken over while this notifier was still sending',
      notRenewed: 'delivery lease not renewed',
    },
  );
  return {
    async release() {
      return { ...held, seq: await keeping.release() };
    },
  };
}

/** Records TokenSent or TokenSendFailed on a delivery this notifier holds (or held: the first outcome stands). */
export async function recordOutcome(
  deps: LeaseDeps,
  subject: string,
  command: Extract<DeliveryCommand, { type: 'RecordSent' | 'RecordFailure' }>,
  { held, fields }: { held: Held; fields: LogFields },
): Promise<void> {
  await storeOutcome(deps.store, subject, storedDeliveries, command, {
    assume: believedHeld(held, command.now),
    correlationId: fields.correlationId,
    log: deps.log,
    fields,
    notRecorded: 'outcome of a delivery not recorded: it will be sent again once its lease has run out',
  });
}

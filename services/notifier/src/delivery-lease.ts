import { setTimeout as sleep } from 'node:timers/promises';
import { type EventStore, handleCommand, type LoadedState, StoreUnavailable } from '@tessera/event-store';
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

/**
 * Renews the lease every third of its length while a send runs, so that a live but slow send is
 * never taken over. Renewals are appended one after the other, each expecting the sequence of the
 * last. If the delivery moved on meanwhile, it is loaded: still this attempt's (an earlier renewal
 * was stored though its answer was lost), the lease is renewed on it; taken over (this notifier
 * was stalled longer than a lease), that is logged and renewals stop. The send goes on either
 * way, as it cannot be called back.
 */
export function keepLease(deps: LeaseDeps, subject: string, held: Held, fields: LogFields): LeaseKeeper {
  let current = held;
  let lost = false;
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const { correlationId } = fields;
  const renew = async () => {
    const { deliveryId, attempt } = current;
    const command: DeliveryCommand = {
      type: 'RenewLease',
      deliveryId,
      attempt,
      leaseMs: deps.leaseMs,
      now: deps.now(),
    };
    try {
      const assume = believedHeld(current, command.now);
      const handled = await handleCommand(deps.store, subject, storedDeliveries, command, { correlationId, assume });
      if (handled.events.length > 0) current = { ...current, seq: handled.seq };
      else {
        lost = true;
        deps.log.warn({ ...fields, attempt }, 'delivery taken over while this notifier was still sending');
      }
    } catch (err) {
      // Tried again at the next tick; the lease may run out meanwhile if the store stays away.
      deps.log.warn({ ...fields, attempt, err: (err as Error).message }, 'delivery lease not renewed');
    }
  };
  const schedule = () => {
    if (released || lost) return;
    timer = setTimeout(() => {
      renewing = renew().finally(schedule);
    }, deps.leaseMs / 3);
  };
  schedule();
  return {
    async release() {
      released = true;
      clearTimeout(timer);
      await renewing;
      return current;
    },
  };
}

// The outcome must reach the stream: until it does, the delivery looks abandoned once its lease
// runs out, and another notifier sends the message again. A store that is away (a NATS restart,
// a leader election) is waited for, this long at most.
const OUTCOME_RETRY_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 3_000];
const OUTCOME_PATIENCE_MS = 60_000;

/** Records TokenSent or TokenSendFailed on a delivery this notifier holds (or held: the first outcome stands). */
export async function recordOutcome(
  deps: LeaseDeps,
  subject: string,
  command: Extract<DeliveryCommand, { type: 'RecordSent' | 'RecordFailure' }>,
  { held, fields }: { held: Held; fields: LogFields },
): Promise<void> {
  const correlationId = fields.correlationId;
  const began = Date.now();
  for (let retry = 0; ; retry++) {
    try {
      // Taken over meanwhile, or recorded by an earlier try whose answer was lost: the belief
      // conflicts, and the outcome is decided on what is there.
      const assume = believedHeld(held, command.now);
      await handleCommand(deps.store, subject, storedDeliveries, command, { correlationId, assume });
      return;
    } catch (err) {
      if (!(err instanceof StoreUnavailable) || Date.now() - began > OUTCOME_PATIENCE_MS) {
        deps.log.error(
          { ...fields, err: (err as Error).message },
          'outcome of a delivery not recorded: it will be sent again once its lease has run out',
        );
        throw err;
      }
      await sleep(OUTCOME_RETRY_DELAYS_MS[retry] ?? OUTCOME_RETRY_DELAYS_MS.at(-1));
    }
  }
}

import { type EventStore, handleCommand, type LoadedState } from '@tessera/event-store';
import type { Logger } from '@tessera/service-kit';
import {
  availability,
  initial,
  type OnbindDelivery,
  type OnbindDeliveryCommand,
  type OnbindDeliveryEvent,
} from '../domain/onbind-delivery.js';
import { holdLease, storeOutcome } from '../lease-renewal.js';
import { storedOnbindDeliveries } from './onbind-delivery-events.js';

// Writing to an onbind_delivery aggregate on behalf of one notifier: starting an attempt (or
// abandoning the call), holding the attempt's lease while the call runs, recording the outcome.

export type OnbindLeaseDeps = { store: EventStore; now: () => Date; log: Logger; leaseMs: number };

/** What every log line about an onbind call carries: never an address, a user or a token. */
export type OnbindLogFields = { onbindId: string; destination: string };

/** This notifier's hold on a call: the attempt it started and the aggregate's last sequence since. */
export type HeldAttempt = { onbindId: string; attempt: number; seq: number };

export type AttemptStart =
  | { status: 'started'; held: HeldAttempt }
  /** Abandoned by this decision (past give_up_at, or the call cannot be made), after `attempts` attempts. */
  | { status: 'abandoned'; attempts: number; reason: string }
  /** Another notifier's lease, or a failed attempt's backoff, runs until `until`: come back then. */
  | { status: 'leased' | 'waiting'; until: Date }
  /** It has its outcome already: nothing to do. */
  | { status: 'finished' };

/** A call this notifier believes it holds, as renewed last: decided on without loading it first. */
const believedHeld = ({ attempt, seq }: HeldAttempt, now: Date): LoadedState<OnbindDelivery> => ({
  state: { status: 'calling', attempt, leaseEndsAt: now },
  seq,
});

/**
 * Appends what `command` (StartAttempt or Abandon) decides: first as if no attempt were recorded
 * (expecting sequence 0, without loading: the usual case for a first try), else on what is there,
 * expecting the sequence just loaded, so that of several notifiers trying at once exactly one wins.
 */
export async function startAttempt(
  deps: OnbindLeaseDeps,
  subject: string,
  command: Extract<OnbindDeliveryCommand, { type: 'StartAttempt' | 'Abandon' }>,
  correlationId: string,
): Promise<AttemptStart> {
  const handled = await handleCommand(deps.store, subject, storedOnbindDeliveries, command, {
    correlationId,
    assume: { state: initial(), seq: 0 },
  });
  const [decided] = handled.events;
  if (decided?.type === 'OnbindAttemptStarted')
    return { status: 'started', held: { onbindId: command.onbindId, attempt: decided.data.attempt, seq: handled.seq } };
  if (decided?.type === 'OnbindAbandoned') {
    const { attempts, reason } = decided.data;
    return { status: 'abandoned', attempts, reason };
  }
  const found = availability(handled.state, command.now);
  // Open but nothing decided cannot happen: both commands act on an open call.
  return found.status === 'open' ? { status: 'finished' } : found;
}

export type AttemptLease = {
  /** Stops renewing (waiting for a renewal under way); the hold as it stands after the renewals. */
  release(): Promise<HeldAttempt>;
};

/** Renews the attempt's lease while the call runs (holdLease); the call goes on even if it was taken over. */
export function keepAttemptLease(
  deps: OnbindLeaseDeps,
  subject: string,
  held: HeldAttempt,
  { fields, correlationId }: { fields: OnbindLogFields; correlationId: string },
): AttemptLease {
  const { onbindId, attempt, seq } = held;
  const keeping = holdLease(
    {
      store: deps.store,
      subject,
      decider: storedOnbindDeliveries,
      correlationId,
      seq,
      renewal: (now) => ({
        command: { type: 'RenewLease', onbindId, attempt, leaseMs: deps.leaseMs, now } satisfies OnbindDeliveryCommand,
        believed: believedHeld(held, now).state,
      }),
    },
    deps,
    {
      log: deps.log,
      fields: { ...fields, attempt },
      takenOver: 'onbind call taken over while this notifier was still calling',
      notRenewed: 'onbind lease not renewed',
    },
  );
  return {
    async release() {
      return { ...held, seq: await keeping.release() };
    },
  };
}

/**
 * Records OnbindDelivered or OnbindAttemptFailed for an attempt this notifier made (storeOutcome;
 * the first outcome stands). Answers the events decided: none when the call had its outcome already.
 */
export async function recordAttemptOutcome(
  deps: OnbindLeaseDeps,
  subject: string,
  command: Extract<OnbindDeliveryCommand, { type: 'RecordDelivered' | 'RecordFailure' }>,
  { held, fields, correlationId }: { held: HeldAttempt; fields: OnbindLogFields; correlationId: string },
): Promise<OnbindDeliveryEvent[]> {
  return storeOutcome(deps.store, subject, storedOnbindDeliveries, command, {
    assume: believedHeld(held, command.now),
    correlationId,
    log: deps.log,
    fields,
    notRecorded: 'outcome of an onbind attempt not recorded: the call is made again once its lease has run out',
  });
}

import type { RetryLater } from '@tessera/event-store';
import {
  type Held,
  keepLease,
  type LeaseDeps,
  type LogFields,
  recordOutcome,
  type TakeOn,
  takeOn,
} from './delivery-lease.js';
import type { DeliveryChannel, DeliveryCommand } from './domain/delivery.js';
import type { NotifierCounters } from './metrics.js';
import type { SendOutcome } from './send-outcome.js';

// The steps of one message's delivery, the same for the validation mail and SMS (deliver-token.ts)
// and the invite mail (deliver-invite.ts): give it up before sending, or take it on, send under
// the lease and record the outcome; and what to do when it is not this notifier's to take.

/** What a delivery is: its id, the aggregate it came from (`session.<sid>`, `invite.<id>`), its channel. */
export type DeliveryOf = { deliveryId: string; source: string; channel: DeliveryChannel };

type StepDeps = LeaseDeps & { counters: Pick<NotifierCounters, 'repeated' | 'takenOver'> };

/**
 * A delivery found leased comes back this long after the lease's end, so that the lease has
 * surely run out by then (its end was set by another process's clock).
 */
export const LEASE_MARGIN_MS = 100;

/** Gives the delivery up before sending anything: started and failed (refused) in one decision. */
export function refuseDelivery(
  deps: LeaseDeps,
  subject: string,
  delivery: DeliveryOf & { reason: string },
  fields: LogFields,
): Promise<TakeOn> {
  return takeOn(deps, subject, { type: 'RefuseDelivery', ...delivery, now: deps.now() }, fields.correlationId);
}

/** Takes the delivery on for a lease to send now, or over (counted) when the lease of another ran out. */
export async function takeOnToSend(
  deps: StepDeps,
  subject: string,
  delivery: DeliveryOf,
  fields: LogFields,
): Promise<TakeOn> {
  const command: DeliveryCommand = { type: 'StartDelivery', ...delivery, leaseMs: deps.leaseMs, now: deps.now() };
  const claim = await takeOn(deps, subject, command, fields.correlationId);
  if (claim.status === 'taken' && claim.held.attempt > 1) {
    deps.counters.takenOver.inc();
    deps.log.info(
      { ...fields, attempt: claim.held.attempt },
      'delivery taken over: the lease of the notifier that had it ran out',
    );
  }
  return claim;
}

/** Leased by another notifier: back when its lease ends. Finished: a repeat, nothing sent. */
export function notTaken(
  deps: StepDeps,
  found: Exclude<TakeOn, { status: 'taken' }>,
  fields: LogFields,
): RetryLater | undefined {
  if (found.status === 'leased') {
    const retryInMs = Math.max(0, found.endsAt.getTime() - deps.now().getTime()) + LEASE_MARGIN_MS;
    deps.log.debug({ ...fields, retryInMs }, 'delivery leased by another notifier; back when the lease ends');
    return { retryInMs };
  }
  deps.counters.repeated.inc();
  deps.log.info(fields, 'delivery already made; nothing sent');
  return undefined;
}

/**
 * Sends on a delivery this notifier holds, renewing the lease while the send runs, and records
 * TokenSent or TokenSendFailed. Resolves with what the send did, once that is recorded.
 * `holdOnTemporaryFailure`: a failure that is not a refusal records nothing; the delivery stays
 * started, its lease runs out, and the caller tries it again later (taking it over).
 */
export async function sendAndRecord(
  deps: LeaseDeps,
  subject: string,
  { held, fields, holdOnTemporaryFailure = false }: { held: Held; fields: LogFields; holdOnTemporaryFailure?: boolean },
  send: () => Promise<SendOutcome>,
): Promise<SendOutcome> {
  const lease = keepLease(deps, subject, held, fields);
  let outcome: SendOutcome;
  try {
    outcome = await send();
  } catch (err) {
    await lease.release();
    throw err;
  }
  const renewed = await lease.release();
  if (holdOnTemporaryFailure && !outcome.sent && !outcome.refused) return outcome;
  const { deliveryId } = held;
  const now = deps.now();
  const record: Extract<DeliveryCommand, { type: 'RecordSent' | 'RecordFailure' }> = outcome.sent
    ? { type: 'RecordSent', deliveryId, providerMessageId: outcome.providerMessageId, now }
    : { type: 'RecordFailure', deliveryId, reason: outcome.reason, refused: outcome.refused, now };
  await recordOutcome(deps, subject, record, { held: renewed, fields });
  return outcome;
}

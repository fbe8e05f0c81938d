// The onbind_delivery aggregate (`tessera.onbind_delivery.<onbind_id>`): the notifier's attempts at
// one onbind call (OnbindRequested on `tessera.onbind.<onbind_id>`), at least once, for days if
// need be. An attempt takes the call on for a lease (OnbindAttemptStarted), renews it while a slow
// call runs, and records its outcome. While the lease runs nobody else calls; once it ran out
// without an outcome (the notifier died), the next attempt may start at once. A failed attempt
// sets when the next may start (exponential backoff with jitter). Past the request's give_up_at
// the call is abandoned. Once delivered or abandoned, nothing more happens.
import type { Decider } from '@tessera/event-store';

export type OnbindDeliveryEvent =
  | { type: 'OnbindAttemptStarted'; data: { onbindId: string; attempt: number; leaseEndsAt: Date; at: Date } }
  | { type: 'OnbindLeaseRenewed'; data: { onbindId: string; attempt: number; leaseEndsAt: Date; at: Date } }
  | {
      type: 'OnbindAttemptFailed';
      data: { onbindId: string; attempt: number; reason: string; httpStatus: number; retryAt: Date; at: Date };
    }
  | { type: 'OnbindDelivered'; data: { onbindId: string; attempt: number; method: OnbindMethod; at: Date } }
  | { type: 'OnbindAbandoned'; data: { onbindId: string; attempts: number; reason: string; at: Date } };

export type OnbindMethod = 'POST' | 'PUT';

/** How long to wait after a failed attempt: TESSERA_ONBIND_RETRY_BASE_MS doubled per attempt, up to TESSERA_ONBIND_RETRY_MAX_MS. */
export type Backoff = { baseMs: number; maxMs: number };

export type OnbindDeliveryCommand =
  /** Take the call on for `leaseMs`, just before calling; past `giveUpAt`, once attempted at least once, it is abandoned instead. */
  | { type: 'StartAttempt'; onbindId: string; leaseMs: number; giveUpAt: Date; now: Date }
  /** Still calling on `attempt`: hold the call `leaseMs` longer. */
  | { type: 'RenewLease'; onbindId: string; attempt: number; leaseMs: number; now: Date }
  | { type: 'RecordDelivered'; onbindId: string; attempt: number; method: OnbindMethod; now: Date }
  /**
   * The attempt failed; the next may start after the backoff, never later than `giveUpAt` (when
   * the next try abandons it). `random` in [0, 1) draws the jitter: the caller's, as the decider
   * has no randomness of its own.
   */
  | {
      type: 'RecordFailure';
      onbindId: string;
      attempt: number;
      reason: string;
      httpStatus: number;
      backoff: Backoff;
      random: number;
      giveUpAt: Date;
      now: Date;
    }
  /** Give the call up without calling: it cannot be made (its sealed call does not open, its destination is no server name). */
  | { type: 'Abandon'; onbindId: string; reason: string; now: Date };

export type OnbindDelivery =
  | { status: 'none' }
  | { status: 'calling'; attempt: number; leaseEndsAt: Date }
  | { status: 'waiting'; attempt: number; retryAt: Date }
  | { status: 'delivered'; attempt: number }
  | { status: 'abandoned'; attempts: number };

export const initial = (): OnbindDelivery => ({ status: 'none' });

/**
 * Who may attempt the call now: anyone (`open`), nobody until `until` (an attempt's lease runs:
 * `leased`; a failed attempt's backoff runs: `waiting`), or nobody ever again (`finished`).
 */
export type OnbindAvailability =
  | { status: 'open' }
  | { status: 'leased' | 'waiting'; until: Date }
  | { status: 'finished' };

export function availability(state: OnbindDelivery, now: Date): OnbindAvailability {
  switch (state.status) {
    case 'none':
      return { status: 'open' };
    case 'calling':
      return state.leaseEndsAt.getTime() > now.getTime()
        ? { status: 'leased', until: state.leaseEndsAt }
        : { status: 'open' };
    case 'waiting':
      return state.retryAt.getTime() > now.getTime() ? { status: 'waiting', until: state.retryAt } : { status: 'open' };
    case 'delivered':
    case 'abandoned':
      return { status: 'finished' };
  }
}

/** The jitter: the backoff is drawn from ±JITTER of its nominal value, so that calls failed together spread out. */
const JITTER = 0.2;

/** The wait after failed attempt `attempt` (1 for the first): min(max, base·2^(attempt-1)), ±20 %. */
export function backoffMs(attempt: number, { baseMs, maxMs }: Backoff, random: number): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal * (1 - JITTER + 2 * JITTER * random));
}

/** An outcome for a call that was never attempted: a bug in the caller, not a state to record. */
export class OnbindAttemptNotStarted extends Error {
  override readonly name = 'OnbindAttemptNotStarted';
  constructor(readonly onbindId: string) {
    super(`onbind call ${onbindId} has no OnbindAttemptStarted: its outcome cannot be recorded`);
  }
}

const attemptsOf = (state: OnbindDelivery): number =>
  state.status === 'none' ? 0 : state.status === 'abandoned' ? state.attempts : state.attempt;

export function evolve(state: OnbindDelivery, event: OnbindDeliveryEvent): OnbindDelivery {
  switch (event.type) {
    case 'OnbindAttemptStarted':
      return state.status === 'delivered' || state.status === 'abandoned'
        ? state
        : { status: 'calling', attempt: event.data.attempt, leaseEndsAt: event.data.leaseEndsAt };
    case 'OnbindLeaseRenewed':
      return state.status === 'calling' && state.attempt === event.data.attempt
        ? { ...state, leaseEndsAt: event.data.leaseEndsAt }
        : state;
    case 'OnbindAttemptFailed':
      // Only the attempt under way fails: a late failure of an attempt taken over changes nothing.
      return state.status === 'calling' && state.attempt === event.data.attempt
        ? { status: 'waiting', attempt: state.attempt, retryAt: event.data.retryAt }
        : state;
    case 'OnbindDelivered':
      return state.status === 'delivered' || state.status === 'abandoned'
        ? state
        : { status: 'delivered', attempt: event.data.attempt };
    case 'OnbindAbandoned':
      return state.status === 'delivered' || state.status === 'abandoned'
        ? state
        : { status: 'abandoned', attempts: event.data.attempts };
  }
}

export function decide(command: OnbindDeliveryCommand, state: OnbindDelivery): OnbindDeliveryEvent[] {
  const at = command.now;
  const { onbindId } = command;
  switch (command.type) {
    case 'StartAttempt': {
      // Leased by a live notifier, waiting out a backoff, or finished: no call now.
      if (availability(state, at).status !== 'open') return [];
      const attempts = attemptsOf(state);
      // Given up for age only once tried: a call that waited past give_up_at (its notifiers all
      // down, a backlog) still gets its one attempt. One that cannot be made is Abandon's.
      if (attempts > 0 && at.getTime() >= command.giveUpAt.getTime())
        return [{ type: 'OnbindAbandoned', data: { onbindId, attempts, reason: 'given up: too old', at } }];
      const leaseEndsAt = new Date(at.getTime() + command.leaseMs);
      return [{ type: 'OnbindAttemptStarted', data: { onbindId, attempt: attempts + 1, leaseEndsAt, at } }];
    }
    case 'RenewLease': {
      // Taken over, or finished: the lease is not this attempt's to renew any more.
      if (state.status !== 'calling' || state.attempt !== command.attempt) return [];
      const leaseEndsAt = new Date(at.getTime() + command.leaseMs);
      return [{ type: 'OnbindLeaseRenewed', data: { onbindId, attempt: command.attempt, leaseEndsAt, at } }];
    }
    case 'RecordDelivered': {
      if (state.status === 'none') throw new OnbindAttemptNotStarted(onbindId);
      if (state.status === 'delivered' || state.status === 'abandoned') return [];
      // An attempt taken over (or one whose later successor failed) still records that the
      // homeserver took the call: it did, whoever holds the lease now.
      const { attempt, method } = command;
      return [{ type: 'OnbindDelivered', data: { onbindId, attempt, method, at } }];
    }
    case 'RecordFailure': {
      if (state.status === 'none') throw new OnbindAttemptNotStarted(onbindId);
      // Only the attempt under way sets the next one's time: a late failure of an attempt
      // taken over says nothing about the one that replaced it.
      if (state.status !== 'calling' || state.attempt !== command.attempt) return [];
      const { attempt, reason, httpStatus, backoff, random, giveUpAt } = command;
      const retryAt = new Date(Math.min(at.getTime() + backoffMs(attempt, backoff, random), giveUpAt.getTime()));
      return [{ type: 'OnbindAttemptFailed', data: { onbindId, attempt, reason, httpStatus, retryAt, at } }];
    }
    case 'Abandon': {
      // Another notifier is calling: its outcome decides. Finished: nothing to give up.
      const found = availability(state, at).status;
      if (found === 'leased' || found === 'finished') return [];
      return [{ type: 'OnbindAbandoned', data: { onbindId, attempts: attemptsOf(state), reason: command.reason, at } }];
    }
  }
}

export const onbindDeliveryDecider: Decider<OnbindDeliveryCommand, OnbindDeliveryEvent, OnbindDelivery> = {
  decide,
  evolve,
  initial,
};

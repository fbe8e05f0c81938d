import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EventStore,
  handleCommand,
  type LoadedState,
  type StoredDecider,
  StoreUnavailable,
} from '@tessera/event-store';
import type { Logger } from '@tessera/service-kit';

// What every leased aggregate of the notifier (a mail or SMS delivery, an onbind call) does the
// same way: renewing its lease while the outside call runs, and getting its outcome stored.

/** One aggregate this notifier holds the lease of, and how to renew it. */
export type LeasedAggregate<C, E, S> = {
  store: EventStore;
  subject: string;
  decider: StoredDecider<C, E, S>;
  correlationId: string;
  /** The aggregate's last sequence when the lease was taken. */
  seq: number;
  /** The renewal to decide at `now`, and the state this notifier believes the aggregate is in then. */
  renewal(now: Date): { command: NoInfer<C>; believed: NoInfer<S> };
};

export type LeaseLog = {
  log: Logger;
  /** What every line about it carries (never an address, a user or a token). */
  fields: Record<string, unknown>;
  /** Logged when the lease turns out taken over, and when a renewal fails. */
  takenOver: string;
  notRenewed: string;
};

export type LeaseKeeping = {
  /** Stops renewing, waiting for a renewal under way; the aggregate's last sequence after the renewals. */
  release(): Promise<number>;
};

/**
 * Renews the lease every third of its length while an outside call runs, so that a live but slow
 * call is never taken over. Renewals are appended one after the other, each expecting the
 * sequence of the last. If the aggregate moved on meanwhile, it is loaded: still this attempt's
 * (an earlier renewal was stored though its answer was lost), the lease is renewed on it; taken
 * over (this notifier was stalled longer than a lease), that is logged and renewals stop. The
 * call goes on either way, as it cannot be called back. A renewal that fails (the store is away)
 * is tried again at the next tick; the lease may run out meanwhile if the store stays away.
 */
export function holdLease<C, E, S>(
  leased: LeasedAggregate<C, E, S>,
  { now, leaseMs }: { now: () => Date; leaseMs: number },
  { log, fields, takenOver, notRenewed }: LeaseLog,
): LeaseKeeping {
  const { store, subject, decider, correlationId } = leased;
  let seq = leased.seq;
  let lost = false;
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const renew = async () => {
    const { command, believed } = leased.renewal(now());
    try {
      const assume: LoadedState<S> = { state: believed, seq };
      const handled = await handleCommand(store, subject, decider, command, { correlationId, assume });
      if (handled.events.length > 0) seq = handled.seq;
      else {
        lost = true;
        log.warn(fields, takenOver);
      }
    } catch (err) {
      log.warn({ ...fields, err: (err as Error).message }, notRenewed);
    }
  };
  const schedule = () => {
    if (released || lost) return;
    timer = setTimeout(() => {
      renewing = renew().finally(schedule);
    }, leaseMs / 3);
  };
  schedule();
  return {
    async release() {
      released = true;
      clearTimeout(timer);
      await renewing;
      return seq;
    },
  };
}

// An outcome must reach the stream: until it does, the aggregate looks abandoned once its lease
// runs out, and another notifier makes the call again. A store that is away (a NATS restart, a
// leader election) is waited for, this long at most.
const OUTCOME_RETRY_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 3_000];
const OUTCOME_PATIENCE_MS = 60_000;

/**
 * Decides and appends an outcome on an aggregate this notifier holds (or held), starting from what
 * it believes is there (`assume`): taken over meanwhile, or recorded by an earlier try whose
 * answer was lost, the belief conflicts and the outcome is decided on what is there. Tried again
 * after each StoreUnavailable for up to a minute; any other error, or the last, is logged
 * (`notRecorded`) and thrown. Answers the events decided (none: an outcome was recorded before).
 */
export async function storeOutcome<C, E, S>(
  store: EventStore,
  subject: string,
  decider: StoredDecider<C, E, S>,
  command: C,
  options: { assume: LoadedState<S>; correlationId: string; log: Logger; fields: object; notRecorded: string },
): Promise<E[]> {
  const { assume, correlationId, log, fields, notRecorded } = options;
  const began = Date.now();
  for (let retry = 0; ; retry++) {
    try {
      return (await handleCommand(store, subject, decider, command, { correlationId, assume })).events;
    } catch (err) {
      if (!(err instanceof StoreUnavailable) || Date.now() - began > OUTCOME_PATIENCE_MS) {
        log.error({ ...fields, err: (err as Error).message }, notRecorded);
        throw err;
      }
      await sleep(OUTCOME_RETRY_DELAYS_MS[retry] ?? OUTCOME_RETRY_DELAYS_MS.at(-1));
    }
  }
}

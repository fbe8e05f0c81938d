import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredDecider } from './decider.js';
import { ConcurrencyConflict } from './errors.js';
import type { EventStore } from './event-store.js';

/** An aggregate's state, and the stream sequence of its last message (0: it has none). */
export type LoadedState<S> = { state: S; seq: number };

/**
 * Makes the complete command for the state it will be decided on, doing whatever has effects
 * (reading another aggregate, making a data key, sealing, random ids), so that `decide` stays pure.
 * It runs once per decision: a decision taken again after a conflict prepares again on the newer
 * state, so what must be made only once per request (a token, its sealed value) the caller makes
 * once and reuses.
 */
export type PrepareCommand<C, S> = (loaded: LoadedState<S>) => Promise<C>;

/** How often a command is decided on a freshly loaded aggregate, and the pause after each conflict. */
export type ConflictRetry = {
  decisions: number;
  /** Waits before deciding again after the `retry`-th conflict (1 for the first). */
  backoff(retry: number): Promise<void>;
};

export type HandleCommandOptions<S> = {
  /** The request or event this decision answers; the current one (see @tessera/correlation) when absent. */
  correlationId?: string;
  /**
   * What the caller believes the aggregate is (a new one: `{ state: initial(), seq: 0 }`; one it
   * wrote last): decided on without loading first. A conflict shows the belief wrong, and the
   * aggregate is loaded at once, without counting towards `retry` or waiting.
   */
  assume?: LoadedState<S>;
  retry?: ConflictRetry;
};

export type HandledCommand<E, S> = {
  /** The appended message's sequence, or the aggregate's last sequence when nothing was appended. */
  seq: number;
  /** The events decided and appended; empty when the decision changed nothing. */
  events: E[];
  /** The state the decision was taken on, with those events applied. */
  state: S;
};

// Full jitter: replicas that lost the same race do not come back in step.
const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 50;

/** A random pause in [0, min(50, 5·2^(retry-1))) ms. */
export function conflictBackoffMs(retry: number, random: () => number = Math.random): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));
}

/** Three decisions, a few milliseconds apart: contention on one aggregate is rare and brief. */
const CONFLICT_RETRY: ConflictRetry = {
  decisions: 3,
  backoff: (retry) => sleep(conflictBackoffMs(retry)),
};

/** The aggregate's current state. */
export async function loadState<S>(
  store: EventStore,
  subject: string,
  decider: StoredDecider<unknown, unknown, S>,
): Promise<LoadedState<S>> {
  const { events, lastSeq } = await store.load(subject);
  return { state: decider.stateOf(events), seq: lastSeq };
}

/**
 * Load, prepare, decide, append: the one way a command changes an aggregate. The decision's
 * events go out as one message expecting the sequence the state was loaded at; when another
 * decision got there first (ConcurrencyConflict) the aggregate is loaded again and the command
 * prepared and decided again on it, after a short jittered pause, `retry.decisions` times in all;
 * the last conflict reaches the caller. A refusal thrown by `decide` reaches the caller at once.
 */
export async function handleCommand<C, E, S>(
  store: EventStore,
  subject: string,
  decider: StoredDecider<C, E, S>,
  command: C | PrepareCommand<C, S>,
  { correlationId, assume, retry = CONFLICT_RETRY }: HandleCommandOptions<S> = {},
): Promise<HandledCommand<E, S>> {
  const prepare = typeof command === 'function' ? (command as PrepareCommand<C, S>) : async () => command as C;
  let assumed = assume;
  for (let decisions = 0; ; ) {
    const current = assumed ?? (await loadState(store, subject, decider));
    if (assumed === undefined) decisions++;
    const decided = decider.decide(await prepare(current), current.state);
    const state = decided.reduce(decider.evolve, current.state);
    if (decided.length === 0) return { seq: current.seq, events: [], state };
    try {
      const stored = decided.map(decider.codec.toStoredEvent);
      const seq = await store.append(subject, stored, { expectedSeq: current.seq, correlationId });
      return { seq, events: decided, state };
    } catch (err) {
      if (!(err instanceof ConcurrencyConflict)) throw err;
      if (assumed !== undefined) assumed = undefined;
      else if (decisions >= retry.decisions) throw err;
      else await retry.backoff(decisions);
    }
  }
}

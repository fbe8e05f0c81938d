import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { EventCodec } from './event-codec.js';

/**
 * An aggregate's rules: pure functions, no I/O, no clock (the time comes in the command). `decide`
 * answers a command with the events it causes (none: nothing changes) or throws a refusal;
 * `evolve` folds one event into the state, starting from `initial()`.
 */
export type Decider<C, E, S> = {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initial(): S;
};

/** A decider with the codec of its events: what handleCommand needs to load and append its aggregate. */
export type StoredDecider<C, E, S> = Decider<C, E, S> & {
  codec: EventCodec<E>;
  /** The state a stored history folds to; events of other aggregates are skipped. */
  stateOf(history: readonly Event[]): S;
};

export function storedDecider<C, E, S>(decider: Decider<C, E, S>, codec: EventCodec<E>): StoredDecider<C, E, S> {
  const { decide, evolve, initial } = decider;
  return {
    decide,
    evolve,
    initial,
    codec,
    stateOf: (history) => codec.fromStoredEvents(history).reduce(evolve, initial()),
  };
}

import type { Event } from '@tessera/proto/tessera/events/v1/envelope';

type Decider<C, E, S> = {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
};
type Codec<E> = { toStoredEvent(event: E): Event; fromStoredEvents(events: readonly Event[]): E[] };

/** A decider that reads and writes stored events, for EventStore.handle and load. */
export type StoredDecider<C, S> = {
  stateOf(history: readonly Event[]): S;
  decide(command: C, history: readonly Event[]): Event[];
};

export function storedDecider<C, E, S>(decider: Decider<C, E, S>, codec: Codec<E>): StoredDecider<C, S> {
  const stateOf = (history: readonly Event[]) =>
    codec.fromStoredEvents(history).reduce(decider.evolve, decider.initialState());
  return {
    stateOf,
    decide: (command, history) => decider.decide(command, stateOf(history)).map(codec.toStoredEvent),
  };
}

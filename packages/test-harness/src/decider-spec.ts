import assert from 'node:assert/strict';

/**
 * What a decider spec needs of a decider: @tessera/event-store's Decider has this shape (restated
 * here, as the event store's own tests depend on this package).
 */
export type SpecifiedDecider<C, E, S> = {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initial(): S;
};

/** What a refusal must be: an error class, a predicate, a RegExp for its message, or properties it must have. */
export type ExpectedError = Parameters<typeof assert.throws>[1];

export type Given<C, E, S> = {
  /** The state the history folds to. */
  state: S;
  when(command: C): When<E, S>;
};

export type When<E, S> = {
  /** The command decides exactly these events, in this order (none: it changes nothing). */
  then(expected: readonly E[]): void;
  /** The command is refused: decide throws what `expected` describes. */
  thenThrows(expected: ExpectedError): void;
  /** The state once the decided events are applied. */
  stateAfter(): S;
};

/**
 * Given/when/then for a decider: `given(history)` folds the events with `evolve` from `initial()`,
 * `.when(command)` decides on that state, `.then(events)` compares what was decided.
 *
 *   const given = deciderSpec(sessionDecider);
 *   it('is validated by its token', () => given([started(), issued(1, 't1')]).when(submit('t1')).then([validated()]));
 */
export function deciderSpec<C, E, S>(decider: SpecifiedDecider<C, E, S>): (history: readonly E[]) => Given<C, E, S> {
  return (history) => {
    const state = history.reduce(decider.evolve, decider.initial());
    return {
      state,
      when: (command) => ({
        // biome-ignore lint/suspicious/noThenProperty: given/when/then is the decider tests' vocabulary (STYLE.md §2); never awaited
        then: (expected) => assert.deepEqual(decider.decide(command, state), expected),
        thenThrows: (expected) => assert.throws(() => decider.decide(command, state), expected),
        stateAfter: () => decider.decide(command, state).reduce(decider.evolve, state),
      }),
    };
  };
}

import assert, { AssertionError } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from './decider-spec.js';

// A counter that counts up to a limit, and refuses to pass it.
type Counted = { type: 'Counted'; by: number };
type Count = { type: 'Count'; by: number; limit: number };
class LimitPassed extends Error {}
const given = deciderSpec<Count, Counted, number>({
  decide: ({ by, limit }, total) => {
    if (total + by > limit) throw new LimitPassed(`over ${limit}`);
    return by === 0 ? [] : [{ type: 'Counted', by }];
  },
  evolve: (total, event) => total + event.by,
  initial: () => 0,
});
const counted = (by: number): Counted => ({ type: 'Counted', by });
const count = (by: number, limit = 10): Count => ({ type: 'Count', by, limit });

describe('deciderSpec', () => {
  it('folds the given events into the state', () => assert.equal(given([counted(2), counted(3)]).state, 5));

  it('passes when the command decides the expected events', () => {
    given([counted(2)])
      .when(count(3))
      .then([counted(3)]);
    given([counted(2)])
      .when(count(0))
      .then([]);
  });

  it('fails when the decided events differ from the expected ones', () => {
    const wrong: [Count, Counted[]][] = [
      [count(3), [counted(4)]],
      [count(3), []],
      [count(0), [counted(0)]],
    ];
    for (const [command, expected] of wrong)
      assert.throws(() => given([]).when(command).then(expected), AssertionError);
  });

  it('passes when the command is refused as expected, and fails when it is not refused', () => {
    given([counted(9)])
      .when(count(2))
      .thenThrows(LimitPassed);
    given([counted(9)])
      .when(count(2))
      .thenThrows({ message: 'over 10' });
    assert.throws(() => given([]).when(count(2)).thenThrows(LimitPassed), AssertionError);
    assert.throws(() =>
      given([counted(9)])
        .when(count(2))
        .thenThrows(TypeError),
    );
  });

  it('gives the state after the decided events', () =>
    assert.equal(
      given([counted(2)])
        .when(count(3))
        .stateAfter(),
      5,
    ));
});

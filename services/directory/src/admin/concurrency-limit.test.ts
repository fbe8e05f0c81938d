import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concurrencyLimit } from './concurrency-limit.js';

/** A promise and the function that settles it, for work the test finishes by hand. */
const gate = () => {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};
const ticks = () => new Promise((resolve) => setImmediate(resolve));

describe('concurrencyLimit', () => {
  it('runs at most max at a time, starts the rest in the order they came as others end, failures included', async () => {
    const limit = concurrencyLimit(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limit(async () => {
        started.push(i);
        await g.opened;
        if (i === 1) throw new Error('failed');
        return i;
      }),
    );
    const settled = Promise.allSettled(runs); // handled from the start: one of them fails
    await ticks();
    assert.deepEqual(started, [0, 1]);
    gates[1]?.open();
    await ticks();
    assert.deepEqual(started, [0, 1, 2], 'a failure frees its slot too');
    gates[0]?.open();
    await ticks();
    assert.deepEqual(started, [0, 1, 2, 3]);
    gates[2]?.open();
    gates[3]?.open();
    const results = await settled;
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
  });

  it('starts new work at once when slots are free again', async () => {
    const limit = concurrencyLimit(1);
    assert.equal(await limit(async () => 'a'), 'a');
    assert.equal(await limit(async () => 'b'), 'b');
  });
});

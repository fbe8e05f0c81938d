import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesce } from './coalesce.js';

/** A batch call whose answers the test releases by hand, recording what each call carried. */
function heldCalls<Item>() {
  const calls: { items: Item[]; answer(results: unknown[]): void; fail(err: unknown): void }[] = [];
  const call = (items: Item[]) =>
    new Promise<unknown[]>((resolve, reject) => calls.push({ items, answer: resolve, fail: reject }));
  return { calls, call };
}

const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (reason: unknown) => ({ ok: false as const, reason }),
  );

/** Resolves once `condition` holds, checking at every turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('coalesce', () => {
  it('sends what arrives in one turn of the event loop in one call, and answers each caller its own result in order', async () => {
    const calls: number[][] = [];
    const double = coalesce(
      async (items: number[]) => {
        calls.push(items);
        return items.map((item) => item * 2);
      },
      { maxBatchWeight: 100 },
    );
    const answers = await Promise.all([1, 2, 3, 4].map(double));
    assert.deepEqual(answers, [2, 4, 6, 8]);
    assert.deepEqual(calls, [[1, 2, 3, 4]]);
  });

  it('keeps what arrives while a call is under way for one next call, sent when the first ends', async () => {
    const held = heldCalls<string>();
    const ask = coalesce(held.call, { maxBatchWeight: 100 });
    const first = ask('a');
    await until(() => held.calls.length === 1);
    const later = ['b', 'c', 'd'].map(ask);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(held.calls.length, 1, 'nothing more is sent while the first call is under way');
    held.calls[0]?.answer(['A']);
    assert.equal(await first, 'A');
    await until(() => held.calls.length === 2);
    assert.deepEqual(held.calls[1]?.items, ['b', 'c', 'd']);
    held.calls[1]?.answer(['B', 'C', 'D']);
    assert.deepEqual(await Promise.all(later), ['B', 'C', 'D']);
  });

  it('caps the weight of a call: a full batch leaves at once, an overweight item goes alone', async () => {
    const held = heldCalls<number[]>();
    const lookup = coalesce(held.call, { maxBatchWeight: 5, weightOf: (item) => item.length });
    const answers = [[1, 2], [3, 4], [5], [6, 7], Array.from({ length: 9 }, (_, i) => i), [8]].map(lookup);
    await until(() => held.calls.length === 3);
    // [1,2]+[3,4]+[5] fills 5 and leaves; [6,7] waits; the 9-item one cannot join it, so [6,7]
    // leaves and the 9 go alone (over the cap by themselves); [8] waits for the next turn.
    assert.deepEqual(
      held.calls.map((call) => call.items),
      [[[1, 2], [3, 4], [5]], [[6, 7]], [Array.from({ length: 9 }, (_, i) => i)]],
    );
    for (const call of held.calls) call.answer(call.items.map((item) => item.length));
    await until(() => held.calls.length === 4);
    assert.deepEqual(held.calls[3]?.items, [[8]]);
    held.calls[3]?.answer([1]);
    assert.deepEqual(await Promise.all(answers), [2, 2, 1, 2, 9, 1]);
  });

  it("fails only the failed call's callers, and the next call goes ahead", async () => {
    const held = heldCalls<string>();
    const ask = coalesce(held.call, { maxBatchWeight: 2 });
    const firstBatch = ['a', 'b'].map((item) => settled(ask(item)));
    const secondBatch = ['c', 'd'].map((item) => settled(ask(item)));
    await until(() => held.calls.length === 2);
    const broken = new Error('directory unavailable');
    held.calls[0]?.fail(broken);
    held.calls[1]?.answer(['C', 'D']);
    assert.deepEqual(await Promise.all(firstBatch), [
      { ok: false, reason: broken },
      { ok: false, reason: broken },
    ]);
    assert.deepEqual(await Promise.all(secondBatch), [
      { ok: true, value: 'C' },
      { ok: true, value: 'D' },
    ]);
    const after = ask('e');
    await until(() => held.calls.length === 3);
    held.calls[2]?.answer(['E']);
    assert.equal(await after, 'E');
  });

  it('fails the batch when the call throws, or answers a wrong number of results', async () => {
    const throwing = coalesce<number, number>(
      () => {
        throw new Error('bad request');
      },
      { maxBatchWeight: 10 },
    );
    await assert.rejects(throwing(1), /bad request/);
    const short = coalesce(async (items: number[]) => items.slice(1), { maxBatchWeight: 10 });
    const results = await Promise.all([1, 2].map((item) => settled(short(item))));
    for (const result of results) {
      assert.equal(result.ok, false);
      assert.match(String((result as { reason: unknown }).reason), /1 results for 2 items/);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  correlationIdForNow,
  currentCorrelationId,
  isCorrelationId,
  newCorrelationId,
  withCorrelation,
} from './correlation.js';

describe('correlation ids', () => {
  it('are seen by everything started inside withCorrelation, across awaits and timers', async () => {
    const seen = await withCorrelation('req-1', async () => {
      await nextTurn();
      const inTimer = await new Promise<string | undefined>((ok) => setTimeout(() => ok(currentCorrelationId()), 1));
      return [currentCorrelationId(), inTimer];
    });
    assert.deepEqual(seen, ['req-1', 'req-1']);
    assert.equal(currentCorrelationId(), undefined);
  });

  it('keep concurrent requests apart', async () => {
    const one = (id: string) =>
      withCorrelation(id, async () => {
        await nextTurn();
        return currentCorrelationId();
      });
    assert.deepEqual(await Promise.all([one('a'), one('b'), one('c')]), ['a', 'b', 'c']);
  });

  it('are short printable ASCII: a line break or an empty id is refused', () => {
    assert.ok(isCorrelationId(newCorrelationId()));
    for (const bad of ['', 'a b', 'a\r\nb', 'x'.repeat(129), 'é', 7])
      assert.equal(isCorrelationId(bad), false, String(bad));
    assert.throws(() => withCorrelation('a\nb', () => 0), TypeError);
  });

  it('give a decision made outside any request a fresh id, and one inside the request its id', () => {
    const outside = correlationIdForNow();
    assert.ok(isCorrelationId(outside));
    assert.notEqual(correlationIdForNow(), outside);
    assert.equal(
      withCorrelation('req-9', () => correlationIdForNow()),
      'req-9',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('forgets an entry once its time is up, and keeps a stored null', () => {
    let now = 0;
    const cache = new TtlCache<string | null>(() => now);
    cache.set('a', 'x', 100);
    cache.set('b', null, 100);
    now = 99;
    assert.equal(cache.get('a'), 'x');
    assert.equal(cache.get('b'), null);
    now = 100;
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), undefined);
  });

  it('drops the oldest entry to make room when full', () => {
    const cache = new TtlCache<number>(() => 0, 2);
    cache.set('a', 1, 1_000);
    cache.set('b', 2, 1_000);
    cache.set('a', 3, 1_000); // rewritten: now the youngest
    cache.set('c', 4, 1_000);
    assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [3, undefined, 4]);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats } from '@tessera/event-store';
import { startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { type AggregateCache, watchAggregates } from './aggregate-cache.js';

let nats: TestNats;
let replicaA: NatsConnection;
let replicaB: NatsConnection;
const caches: AggregateCache<string>[] = [];

before(async () => {
  nats = await startNats();
  replicaA = await connectNats({ url: nats.url, name: 'aggregate-cache-a' });
  replicaB = await connectNats({ url: nats.url, name: 'aggregate-cache-b' });
});

after(async () => {
  for (const cache of caches) cache.close();
  await replicaA?.drain();
  await replicaB?.drain();
  await nats?.stop();
});

async function cacheOn(nc: NatsConnection, options: Parameters<typeof watchAggregates>[2] = {}) {
  const cache = await watchAggregates<string>(nc, 'tessera.account.>', options);
  caches.push(cache);
  return cache;
}

/** A loader that answers `value` and counts its calls. */
function loader(value: () => string) {
  const calls = { count: 0 };
  const load = async () => {
    calls.count++;
    return value();
  };
  return { calls, load };
}

describe('the aggregate cache', () => {
  it('loads a subject once, then answers from memory', async () => {
    const cache = await cacheOn(replicaA);
    const { calls, load } = loader(() => 'active');
    assert.equal(await cache.get('tessera.account.one', load), 'active');
    assert.equal(await cache.get('tessera.account.one', load), 'active');
    assert.equal(calls.count, 1);
  });

  it('drops a subject at once when another connection appends to it', async () => {
    const cacheA = await cacheOn(replicaA);
    const cacheB = await cacheOn(replicaB);
    let state = 'active';
    const { calls, load } = loader(() => state);
    assert.equal(await cacheA.get('tessera.account.two', load), 'active');
    assert.equal(await cacheB.get('tessera.account.two', load), 'active');
    state = 'loggedOut';
    replicaA.publish('tessera.account.two', new Uint8Array());
    await replicaA.flush();
    await replicaB.flush(); // the server sent B the message before its PONG
    assert.equal(await cacheB.get('tessera.account.two', load), 'loggedOut');
    assert.equal(await cacheA.get('tessera.account.two', load), 'loggedOut');
    assert.equal(calls.count, 4);
  });

  it('does not cache what it read while the subject changed', async () => {
    const cacheA = await cacheOn(replicaA);
    let state = 'active';
    const { calls, load } = loader(() => state);
    const racing = async () => {
      const read = await load();
      state = 'loggedOut';
      replicaB.publish('tessera.account.three', new Uint8Array());
      await replicaB.flush();
      await replicaA.flush();
      return read;
    };
    assert.equal(await cacheA.get('tessera.account.three', racing), 'active');
    assert.equal(await cacheA.get('tessera.account.three', load), 'loggedOut');
    assert.equal(calls.count, 2);
  });

  it('forgets an entry after its time to live, and the least recently used beyond its size', async () => {
    let clock = 0;
    const cache = await cacheOn(replicaA, { ttlMs: 1_000, maxEntries: 2, now: () => clock });
    const { calls, load } = loader(() => 'active');
    await cache.get('tessera.account.four', load);
    clock = 999;
    await cache.get('tessera.account.four', load);
    assert.equal(calls.count, 1);
    clock = 2_000;
    await cache.get('tessera.account.four', load);
    assert.equal(calls.count, 2);
    await cache.get('tessera.account.five', load);
    await cache.get('tessera.account.four', load); // four is now the most recently used
    await cache.get('tessera.account.six', load); // evicts five
    await cache.get('tessera.account.four', load);
    assert.equal(calls.count, 4);
    await cache.get('tessera.account.five', load);
    assert.equal(calls.count, 5);
  });

  it('passes every load through once closed', async () => {
    const cache = await cacheOn(replicaA);
    cache.close();
    const { calls, load } = loader(() => 'active');
    await cache.get('tessera.account.seven', load);
    await cache.get('tessera.account.seven', load);
    assert.equal(calls.count, 2);
  });
});

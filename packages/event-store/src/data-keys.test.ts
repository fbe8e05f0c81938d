import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedCache } from './bounded-cache.js';
import { type DataKeySource, DataKeys } from './data-keys.js';
import { kvKeyOf } from './kv-key-source.js';
import { type DataKey, SealedValueInvalid } from './sealing.js';

/** An in-memory key source that counts its reads; an erase leaves a marker, as the bucket's purge does. */
class MapKeySource implements DataKeySource {
  readonly keys = new Map<string, DataKey | 'erased'>();
  reads = 0;
  /** Answers "nothing" this many times first, as a stream replica behind the others would. */
  behindFor = 0;
  async get(aggregate: string) {
    this.reads++;
    if (this.behindFor > 0) {
      this.behindFor--;
      return null;
    }
    return this.keys.get(aggregate) ?? null;
  }
  async create(aggregate: string, key: DataKey) {
    const existing = this.keys.get(aggregate);
    if (existing !== undefined && existing !== 'erased') return existing;
    this.keys.set(aggregate, key);
    return key;
  }
  async erase(aggregate: string) {
    this.keys.set(aggregate, 'erased');
  }
}

/** Pauses that are only recorded. */
function recordedSleep() {
  const pauses: number[] = [];
  return { pauses, sleep: async (ms: number) => void pauses.push(ms) };
}

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

describe('DataKeys', () => {
  it('opens what it sealed, for the same aggregate and field', async () => {
    const keys = new DataKeys(new MapKeySource());
    const sealed = await keys.sealField('session.s1', 'address', 'alice@example.org');
    assert.equal(sealed.nonce.length, 12);
    assert.equal(sealed.ciphertext.length, 'alice@example.org'.length + 16);
    assert.equal(text(await keys.openField('session.s1', 'address', sealed)), 'alice@example.org');
  });

  it('uses a fresh nonce each time', async () => {
    const keys = new DataKeys(new MapKeySource());
    const a = await keys.sealField('session.s1', 'address', 'same');
    const b = await keys.sealField('session.s1', 'address', 'same');
    assert.notDeepEqual(a.nonce, b.nonce);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
  });

  it('refuses a value moved to another field or aggregate', async () => {
    const source = new MapKeySource();
    const keys = new DataKeys(source);
    const sealed = await keys.sealField('session.s1', 'address', 'alice@example.org');
    await assert.rejects(keys.openField('session.s1', 'token', sealed), SealedValueInvalid);
    // Even with the other aggregate holding the very same key, the context does not match.
    source.keys.set('session.s2', source.keys.get('session.s1') as DataKey);
    await assert.rejects(keys.openField('session.s2', 'address', sealed), SealedValueInvalid);
  });

  it('throws on a tampered ciphertext or nonce', async () => {
    const keys = new DataKeys(new MapKeySource());
    const sealed = await keys.sealField('session.s1', 'address', 'alice@example.org');
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await assert.rejects(
      keys.openField('session.s1', 'address', { ...sealed, ciphertext: flipped }),
      SealedValueInvalid,
    );
    const nonce = Buffer.from(sealed.nonce);
    nonce[11] = (nonce[11] ?? 0) ^ 1;
    await assert.rejects(keys.openField('session.s1', 'address', { ...sealed, nonce }), SealedValueInvalid);
    const short = { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) };
    await assert.rejects(keys.openField('session.s1', 'address', short), SealedValueInvalid);
  });

  it('returns null once the key is erased, also from its own cache; other aggregates still open', async () => {
    const keys = new DataKeys(new MapKeySource());
    const erased = await keys.sealField('assoc.a1', 'address', 'alice@example.org');
    const kept = await keys.sealField('assoc.a2', 'address', 'bob@example.org');
    await keys.erase('assoc.a1');
    assert.equal(await keys.openField('assoc.a1', 'address', erased), null);
    assert.equal(text(await keys.openField('assoc.a2', 'address', kept)), 'bob@example.org');
  });

  it('asks again for the key of a sealed value the source says it never had (a replica behind the others), and opens it', async () => {
    const source = new MapKeySource();
    const sealed = await new DataKeys(source).sealField('session.s1', 'address', 'carol@example.org');
    source.behindFor = 2;
    const { pauses, sleep } = recordedSleep();
    const keys = new DataKeys(source, { sleep });
    assert.equal(text(await keys.openField('session.s1', 'address', sealed)), 'carol@example.org');
    assert.deepEqual(pauses, [50, 100]);
  });

  it('takes a value for unreadable only after the last retry when its key never shows, and at once when it was erased', async () => {
    const source = new MapKeySource();
    const sealed = await new DataKeys(source).sealField('session.s1', 'address', 'dan@example.org');
    source.behindFor = 100;
    const waited = recordedSleep();
    assert.equal(await new DataKeys(source, { sleep: waited.sleep }).openField('session.s1', 'address', sealed), null);
    assert.deepEqual(waited.pauses, [50, 100, 200, 400, 800]);

    source.behindFor = 0;
    await new DataKeys(source).erase('session.s1');
    const erased = recordedSleep();
    assert.equal(await new DataKeys(source, { sleep: erased.sleep }).openField('session.s1', 'address', sealed), null);
    assert.deepEqual(erased.pauses, [], 'an erase marker is final');
  });

  it('seals with a new key after an erase, and the old values stay unreadable', async () => {
    const keys = new DataKeys(new MapKeySource());
    const before = await keys.sealField('assoc.a1', 'address', 'old');
    await keys.erase('assoc.a1');
    const after = await keys.sealField('assoc.a1', 'address', 'new');
    assert.notEqual(after.keyId, before.keyId);
    assert.equal(await keys.openField('assoc.a1', 'address', before), null);
    assert.equal(text(await keys.openField('assoc.a1', 'address', after)), 'new');
  });

  it('notices a key erased and replaced by another replica despite its cache', async () => {
    const source = new MapKeySource();
    const here = new DataKeys(source);
    const there = new DataKeys(source);
    await here.sealField('assoc.a1', 'address', 'old'); // caches the first key here
    await there.erase('assoc.a1');
    const fresh = await there.sealField('assoc.a1', 'address', 'new');
    assert.equal(text(await here.openField('assoc.a1', 'address', fresh)), 'new');
  });

  it('shares the key that was stored first when two replicas create it at once', async () => {
    const source = new MapKeySource();
    const [a, b] = await Promise.all([
      new DataKeys(source).sealField('assoc.a1', 'address', 'x'),
      new DataKeys(source).sealField('assoc.a1', 'address', 'y'),
    ]);
    assert.equal(a.keyId, b.keyId);
    const reader = new DataKeys(source);
    assert.equal(text(await reader.openField('assoc.a1', 'address', a)), 'x');
    assert.equal(text(await reader.openField('assoc.a1', 'address', b)), 'y');
  });

  it('creates a key without reading first, and keeps the key another replica stored first', async () => {
    const source = new MapKeySource();
    const keys = new DataKeys(source);
    await keys.createKey('session.new');
    const sealed = await keys.sealField('session.new', 'address', 'a');
    assert.equal(source.reads, 0);
    assert.equal(sealed.keyId, (source.keys.get('session.new') as DataKey).keyId);
    const other = new DataKeys(source);
    await other.createKey('session.new'); // it has one already: that one stays
    assert.equal(text(await other.openField('session.new', 'address', sealed)), 'a');
    assert.equal(source.reads, 0);
  });

  it('reads a key from its source once while cached, again after the cache lifetime', async () => {
    let now = 0;
    const source = new MapKeySource();
    const keys = new DataKeys(source, { cacheTtlMs: 60_000, now: () => now });
    const sealed = await keys.sealField('session.s1', 'address', 'x');
    const reads = source.reads;
    await keys.openField('session.s1', 'address', sealed);
    await keys.sealField('session.s1', 'address', 'y');
    assert.equal(source.reads, reads);
    now = 60_001;
    await keys.openField('session.s1', 'address', sealed);
    assert.equal(source.reads, reads + 1);
  });
});

describe('BoundedCache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const cache = new BoundedCache<string, number>(2, 1_000);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    assert.equal(cache.size, 2);
  });

  it('forgets entries older than its lifetime', () => {
    let now = 0;
    const cache = new BoundedCache<string, number>(10, 100, () => now);
    cache.set('a', 1);
    now = 100;
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });
});

describe('kvKeyOf', () => {
  it('keeps the aggregate type readable and escapes what KV keys do not allow', () => {
    assert.equal(kvKeyOf('key.ed25519:0'), 'key.ed25519=3A0');
    assert.equal(kvKeyOf('session.a=b_c-D'), 'session.a=3Db_c-D');
    assert.notEqual(kvKeyOf('session.a=3A'), kvKeyOf('session.a:'));
    assert.throws(() => kvKeyOf('nope.x'));
  });
});

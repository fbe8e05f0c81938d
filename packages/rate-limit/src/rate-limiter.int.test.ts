import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNats, type TestNats } from '@tessera/test-harness';
import { connect, type NatsConnection, StorageType } from 'nats';
import { RATE_LIMIT_BUCKET, RateLimitBucketUnfit, rateLimitBucketOptions } from './bucket.js';
import { createRateLimiter } from './rate-limiter.js';

const LIMIT = { count: 5, windowMs: 60_000 };
const SECRET = new Uint8Array(32).fill(9);

let nats: TestNats;
let ncA: NatsConnection;
let ncB: NatsConnection;

before(async () => {
  nats = await startNats();
  // Two connections: two gateway replicas.
  ncA = await connect({ servers: nats.url, name: 'replica-a' });
  ncB = await connect({ servers: nats.url, name: 'replica-b' });
  // What provisioning does (it runs as admin; the gateway only binds).
  const { history, maxAgeMs } = rateLimitBucketOptions(24 * 3_600_000);
  await ncA.jetstream().views.kv(RATE_LIMIT_BUCKET, { history, ttl: maxAgeMs, storage: StorageType.File });
});
after(async () => {
  await ncA?.close();
  await ncB?.close();
  await nats?.stop();
});

// A fresh subject per test: the bucket is shared by the whole file.
let serial = 0;
const freshSubject = () => `198.51.100.${++serial}`;

describe('rate limiter on a real nats-server', () => {
  it('allows count events in a window, then refuses with the time left in the window', async () => {
    const clock = { ms: 1_000_000 * 60_000 + 15_000 }; // 15 s into a window
    const limiter = await createRateLimiter(ncA, { secret: SECRET, now: () => clock.ms });
    const subject = freshSubject();
    for (let i = 0; i < LIMIT.count; i++)
      assert.deepEqual(await limiter.consume('ip', subject, LIMIT), { allowed: true });
    assert.deepEqual(await limiter.consume('ip', subject, LIMIT), { allowed: false, retryAfterMs: 45_000 });
  });

  it('shares one count between two replicas on two connections', async () => {
    const a = await createRateLimiter(ncA, { secret: SECRET });
    const b = await createRateLimiter(ncB, { secret: SECRET });
    const subject = freshSubject();
    const results = [];
    for (let i = 0; i < LIMIT.count + 1; i++) results.push(await (i % 2 === 0 ? a : b).consume('ip', subject, LIMIT));
    assert.equal(results.filter((r) => r.allowed).length, LIMIT.count);
    assert.equal(results.at(-1)?.allowed, false);
  });

  it('allows exactly count of 50 concurrent events across two replicas', async () => {
    const a = await createRateLimiter(ncA, { secret: SECRET });
    const b = await createRateLimiter(ncB, { secret: SECRET });
    const subject = freshSubject();
    const limit = { count: 17, windowMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).consume('user', subject, limit)),
    );
    assert.equal(results.filter((r) => r.allowed).length, limit.count);
  });

  it('counts a burst on one counter in a few updates, exactly, refusing what passes the limit', async () => {
    const a = await createRateLimiter(ncA, { secret: SECRET });
    const b = await createRateLimiter(ncB, { secret: SECRET });
    const subject = freshSubject();
    const limit = { count: 150, windowMs: 60_000 };
    const writes = async () =>
      (await (await ncA.jetstreamManager()).streams.info(`KV_${RATE_LIMIT_BUCKET}`)).state.last_seq;
    const before = await writes();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).consume('country', subject, limit)),
    );
    assert.equal(results.filter((r) => r.allowed).length, limit.count);
    assert.ok(results.every((r) => r.allowed || r.retryAfterMs > 0));
    // One update in flight per counter and replica, carrying every event that came meanwhile:
    // a storm of single increments would write at least 150 times.
    const written = (await writes()) - before;
    assert.ok(written <= 30, `${written} writes for 200 events`);
  });

  it('allows again in the next window', async () => {
    const clock = { ms: 2_000_000 * 60_000 };
    const limiter = await createRateLimiter(ncA, { secret: SECRET, now: () => clock.ms });
    const subject = freshSubject();
    for (let i = 0; i < LIMIT.count; i++) await limiter.consume('ip', subject, LIMIT);
    assert.equal((await limiter.consume('ip', subject, LIMIT)).allowed, false);
    clock.ms += LIMIT.windowMs;
    assert.deepEqual(await limiter.consume('ip', subject, LIMIT), { allowed: true });
  });

  it('counts scopes and subjects apart', async () => {
    const limiter = await createRateLimiter(ncA, { secret: SECRET });
    const subject = freshSubject();
    const one = { count: 1, windowMs: 60_000 };
    assert.equal((await limiter.consume('msisdn', subject, one)).allowed, true);
    assert.equal((await limiter.consume('country', subject, one)).allowed, true);
    assert.equal((await limiter.consume('msisdn', freshSubject(), one)).allowed, true);
    assert.equal((await limiter.consume('msisdn', subject, one)).allowed, false);
  });

  it('keeps no plaintext subject in the bucket keys', async () => {
    const limiter = await createRateLimiter(ncA, { secret: SECRET });
    await limiter.consume('msisdn', '447700900001', LIMIT);
    const kv = await ncA.jetstream().views.kv(RATE_LIMIT_BUCKET);
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    assert.ok(keys.some((key) => key.startsWith('msisdn.')));
    assert.ok(keys.every((key) => !key.includes('447700900001') && !key.includes('198.51.100.')));
  });

  it('binds to a bucket that keeps counters long enough, and refuses one whose counters would expire inside a window', async () => {
    const jsm = await ncA.jetstreamManager();
    const day = 24 * 3_600_000;
    await createRateLimiter(ncA, { longestWindowMs: 3_600_000 }); // shorter than the 24 h the bucket keeps
    const config = (await jsm.streams.info(`KV_${RATE_LIMIT_BUCKET}`)).config;
    assert.equal(config.max_msgs_per_subject, 1);
    assert.ok(config.max_age / 1e6 > day && config.max_age / 1e6 <= day + 5 * 60_000, 'left as provisioned');
    await assert.rejects(createRateLimiter(ncB, { longestWindowMs: 2 * day }), (err: Error) => {
      assert.ok(err instanceof RateLimitBucketUnfit);
      assert.match(err.message, /provision again/);
      return true;
    });
    assert.equal((await jsm.streams.info(`KV_${RATE_LIMIT_BUCKET}`)).config.max_age, config.max_age, 'not changed');
  });

  it('refuses to start without the bucket instead of creating it', async () => {
    const other = await startNats();
    const nc = await connect({ servers: other.url });
    try {
      await assert.rejects(createRateLimiter(nc), /has no bucket tessera_rate_limits: provision it first/);
      assert.deepEqual(await (await nc.jetstreamManager()).streams.names().next(), [], 'nothing was created');
    } finally {
      await nc.close();
      await other.stop();
    }
  });
});

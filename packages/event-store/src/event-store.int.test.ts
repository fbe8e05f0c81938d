import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import type { JetStreamManager } from 'nats';
import { AT, keyCreated, keyRevoked, reasonsOf, uniqueId } from '../test-support/fixtures.js';
import { type NatsFixture, natsWithStreams } from '../test-support/nats-fixture.js';
import { ConcurrencyConflict, StoreUnavailable } from './errors.js';
import { EventStore } from './event-store.js';
import { subjectOf } from './subjects.js';

const correlationId = 'test-correlation';

describe('EventStore on a real nats-server', () => {
  let fx: NatsFixture;
  let store: EventStore;
  let jsm: JetStreamManager;
  const newKey = () => subjectOf('key', uniqueId('ed25519:k'));
  const messagesOn = async (subject: string) =>
    (await jsm.streams.info('TESSERA_EVENTS', { subjects_filter: subject })).state.subjects?.[subject] ?? 0;

  before(async () => {
    fx = await natsWithStreams();
    store = new EventStore(fx.nc);
    jsm = await fx.nc.jetstreamManager();
  });
  after(async () => fx?.close());

  it('loads an aggregate that does not exist as no events at sequence 0', async () => {
    assert.deepEqual(await store.load(newKey()), { events: [], lastSeq: 0 });
  });

  it('loads the events of that subject only, in order, with the sequence of its last message', async () => {
    const subject = newKey();
    const neighbour = `${subject}x`; // shares a prefix, must not leak in
    let seq = await store.append(subject, [keyCreated(), keyRevoked('1')], { expectedSeq: 0, correlationId });
    const other = await store.append(neighbour, [keyRevoked('other')], { expectedSeq: 0, correlationId });
    seq = await store.append(subject, [keyRevoked('2')], { expectedSeq: seq, correlationId });
    await store.append(neighbour, [keyRevoked('other')], { expectedSeq: other, correlationId });
    const last = await store.append(subject, [keyRevoked('3'), keyRevoked('4')], { expectedSeq: seq, correlationId });
    const loaded = await store.load(subject);
    assert.deepEqual(reasonsOf(loaded.events), ['KeyCreated', '1', '2', '3', '4']);
    assert.equal(loaded.lastSeq, last);
    assert.deepEqual(loaded.events[0]?.occurredAt, AT);
  });

  it('rejects expectedSeq 0 when the aggregate exists', async () => {
    const subject = newKey();
    await store.append(subject, [keyCreated()], { expectedSeq: 0, correlationId });
    await assert.rejects(store.append(subject, [keyCreated()], { expectedSeq: 0, correlationId }), ConcurrencyConflict);
    assert.equal(await messagesOn(subject), 1);
  });

  it('lets exactly one of two appends with the same expected sequence win', async () => {
    const subject = newKey();
    const seq = await store.append(subject, [keyCreated()], { expectedSeq: 0, correlationId });
    const results = await Promise.allSettled([
      store.append(subject, [keyRevoked('a')], { expectedSeq: seq, correlationId }),
      store.append(subject, [keyRevoked('b')], { expectedSeq: seq, correlationId }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const [lost] = results.filter((r) => r.status === 'rejected');
    assert.ok(lost?.reason instanceof ConcurrencyConflict);
    assert.equal((await store.load(subject)).events.length, 2);
  });

  it('stores a re-sent decision once and answers it with the original sequence', async () => {
    const subject = newKey();
    const decisionId = uniqueId('decision');
    const events = [keyCreated()];
    const first = await store.append(subject, events, { expectedSeq: 0, correlationId, decisionId });
    // The ack of the first publish "was lost": the same decision goes out again, same expectation.
    const again = await store.append(subject, events, { expectedSeq: 0, correlationId, decisionId });
    assert.equal(again, first);
    assert.equal(await messagesOn(subject), 1);
    const ack = await fx.nc.jetstream().publish(subject, new Uint8Array([1]), { msgID: decisionId });
    assert.deepEqual([ack.seq, ack.duplicate], [first, true]);
  });

  it('loads messages written without the previous-sequence header by scanning the subject', async () => {
    const subject = newKey();
    const js = fx.nc.jetstream();
    const foreign = (reason: string) =>
      Envelope.encode({
        decisionId: uniqueId('foreign'),
        aggregate: subject.slice('tessera.'.length),
        correlationId,
        recordedAt: AT,
        schemaVersion: 1,
        events: [keyRevoked(reason)],
      }).finish();
    await js.publish(subject, foreign('1'));
    await js.publish(newKey(), foreign('elsewhere'));
    const seq = (await js.publish(subject, foreign('2'))).seq;
    const last = await store.append(subject, [keyRevoked('3')], { expectedSeq: seq, correlationId });
    assert.deepEqual(await store.load(subject).then((l) => [reasonsOf(l.events), l.lastSeq]), [['1', '2', '3'], last]);
  });

  it('still loads what is left of an aggregate when a message in its chain was deleted', async () => {
    // Only the short-lived stream can lose a message (by age, or an operator's delete); the lasting one denies it.
    const subject = subjectOf('session', uniqueId('sid'));
    const first = await store.append(subject, [keyRevoked('1')], { expectedSeq: 0, correlationId });
    const second = await store.append(subject, [keyRevoked('2')], { expectedSeq: first, correlationId });
    const third = await store.append(subject, [keyRevoked('3')], { expectedSeq: second, correlationId });
    await jsm.streams.deleteMessage('TESSERA_SHORT', second);
    assert.deepEqual(await store.load(subject).then((l) => [reasonsOf(l.events), l.lastSeq]), [['1', '3'], third]);
  });
});

describe('EventStore while NATS is down', () => {
  it('fails with StoreUnavailable, and finds every acknowledged decision after the restart', async () => {
    const fx = await natsWithStreams();
    try {
      const store = new EventStore(fx.nc, { timeoutMs: 300 });
      const subject = subjectOf('session', uniqueId('sid'));
      const seq = await store.append(subject, [keyCreated()], { expectedSeq: 0, correlationId });
      fx.nats.kill(); // a crash: only what was synced survives
      await assert.rejects(store.load(subject), StoreUnavailable);
      await assert.rejects(
        store.append(subject, [keyRevoked('x')], { expectedSeq: seq, correlationId }),
        StoreUnavailable,
      );
      await fx.nats.restart();
      const loaded = await retry(() => store.load(subject));
      assert.equal(loaded.lastSeq, seq);
      assert.equal(loaded.events.length, 1);
    } finally {
      await fx.close();
    }
  });
});

async function retry<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreUnavailable) || i >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

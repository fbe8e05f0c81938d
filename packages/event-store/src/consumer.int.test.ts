import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JetStreamManager, NatsConnection } from 'nats';
import { keyCreated, keyRevoked, uniqueId } from '../test-support/fixtures.js';
import { type NatsFixture, natsWithStreams } from '../test-support/nats-fixture.js';
import { connectNats } from './connect.js';
import { type ConsumedMessage, type RunConsumerOptions, runConsumer } from './consumer.js';
import { EventStore } from './event-store.js';
import { silentLogger } from './logger.js';
import { subjectOf } from './subjects.js';

const STREAM = 'TESSERA_EVENTS';
const quickRetry = () => 50;

/** Applies each stream sequence once: what every real handler does with its own checkpoint or keys. */
class IdempotentApplier {
  readonly applied: number[] = [];
  repeats = 0;
  apply(seq: number): void {
    if (this.applied.includes(seq)) this.repeats++;
    else this.applied.push(seq);
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('runConsumer on a real nats-server', () => {
  let fx: NatsFixture;
  let store: EventStore;
  let jsm: JetStreamManager;
  const connections: NatsConnection[] = [];
  const connection = async () => {
    const nc = await connectNats({ url: fx.nats.url, name: 'consumer-test' });
    connections.push(nc);
    return nc;
  };
  /** Appends one decision on each of `count` fresh subjects of one type; returns their sequences. */
  const appendMany = async (type: 'onbind' | 'invite', count: number, events = () => [keyCreated()]) => {
    const seqs: number[] = [];
    for (let i = 0; i < count; i++)
      seqs.push(await store.append(subjectOf(type, uniqueId()), events(), { expectedSeq: 0, correlationId: 'c' }));
    return seqs;
  };
  const options = (durable: string, handler: RunConsumerOptions['handler']): RunConsumerOptions => ({
    stream: STREAM,
    durable,
    filterSubjects: ['tessera.onbind.>'],
    handler,
    ackWaitMs: 1_000,
    retryDelayMs: quickRetry,
    stopTimeoutMs: 100,
    log: silentLogger,
  });

  before(async () => {
    fx = await natsWithStreams();
    store = new EventStore(fx.nc);
    jsm = await fx.nc.jetstreamManager();
  });
  after(async () => {
    for (const nc of connections) if (!nc.isClosed()) await nc.close();
    await fx?.close();
  });

  it('neither skips nor repeats a message across a failure, a stop with a hung handler, and a restart', async () => {
    const durable = uniqueId('projector');
    const seqs = await appendMany('onbind', 20);
    const failOnce = seqs[4];
    const hangOn = seqs[11];
    const applier = new IdempotentApplier();
    let failed = false;
    let hung = false;

    const first = await connection();
    const running = await runConsumer(
      first.jetstream(),
      options(durable, async ({ seq }) => {
        if (seq === failOnce && !failed) {
          failed = true;
          throw new Error('transient failure');
        }
        if (seq === hangOn) {
          hung = true;
          return new Promise<void>(() => {}); // never settles, like a call stuck on a dead socket
        }
        applier.apply(seq);
      }),
    );
    await until(() => hung, 'the handler hangs');
    await running.stop();
    await first.close();
    assert.deepEqual(applier.applied, seqs.slice(0, 11));

    const second = await connection();
    const restarted = await runConsumer(
      second.jetstream(),
      options(durable, async ({ seq }) => applier.apply(seq)),
    );
    await until(() => applier.applied.length === seqs.length, 'every message is applied');
    await restarted.stop();
    assert.deepEqual(applier.applied, seqs);
    assert.equal(applier.repeats, 0);
    const info = await jsm.consumers.info(STREAM, durable);
    assert.equal(info.num_ack_pending + info.num_pending, 0);
  });

  it('hands over decoded envelopes, and skips unwanted event types without handling them', async () => {
    const durable = uniqueId('reactor');
    const created = await appendMany('onbind', 2, () => [keyCreated()]);
    const revoked = await appendMany('onbind', 2, () => [keyCreated(), keyRevoked('r')]);
    const seen: ConsumedMessage[] = [];
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async (message) => {
        seen.push(message);
      }),
      eventTypes: ['KeyRevoked'],
    });
    await until(async () => (await jsm.consumers.info(STREAM, durable)).num_pending === 0, 'all is consumed');
    await until(() => seen.length === 2, 'the wanted messages are handled');
    await running.stop();
    assert.ok(created.every((seq) => seen.every((m) => m.seq !== seq)));
    assert.deepEqual(
      seen.map((m) => m.seq),
      revoked,
    );
    const [message] = seen;
    assert.deepEqual(message?.eventTypes, ['KeyCreated', 'KeyRevoked']);
    assert.equal(message?.envelope.events[1]?.payload?.$case, 'keyRevoked');
    assert.match(message?.subject ?? '', /^tessera\.onbind\./);
    assert.equal(message?.deliveryCount, 1);
  });

  it('gives up a message after maxDeliver failures and goes on with the next', async () => {
    const durable = uniqueId('notifier');
    const [poison, next] = await appendMany('onbind', 2);
    const deliveries: number[] = [];
    const handled: number[] = [];
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async ({ seq, deliveryCount }) => {
        if (seq === poison) {
          deliveries.push(deliveryCount);
          throw new Error('permanent failure');
        }
        handled.push(seq);
      }),
      maxDeliver: 3,
    });
    await until(() => handled.includes(next ?? -1), 'the next message is handled');
    await running.stop();
    assert.deepEqual(deliveries, [1, 2, 3]);
  });

  it('creates its durable consumer once and updates it when its settings change', async () => {
    const durable = uniqueId('config');
    const actions: unknown[] = [];
    const log = { ...silentLogger, info: (obj: Record<string, unknown>) => actions.push(obj.action) };
    const unchanged = { ...options(durable, async () => {}), log };
    const changed = { ...unchanged, ackWaitMs: 2_000, filterSubjects: ['tessera.onbind.>', 'tessera.invite.>'] };
    for (const settings of [unchanged, unchanged, changed, changed])
      await (await runConsumer(fx.nc.jetstream(), settings)).stop();
    assert.deepEqual(actions, ['created', 'unchanged', 'updated', 'unchanged']);
    const { config } = await jsm.consumers.info(STREAM, durable);
    assert.equal(config.ack_wait, 2_000_000_000);
    assert.deepEqual(config.filter_subjects?.sort(), ['tessera.invite.>', 'tessera.onbind.>']);
    assert.equal(config.max_ack_pending, 1);
    assert.equal(config.ack_policy, 'explicit');
  });
  it('handles up to `concurrency` messages at once, each exactly once', async () => {
    const durable = uniqueId('parallel');
    const seqs = await appendMany('onbind', 24);
    const applier = new IdempotentApplier();
    let inFlight = 0;
    let mostInFlight = 0;
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async ({ seq }) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        applier.apply(seq);
        inFlight--;
      }),
      concurrency: 4,
      maxAckPending: 4,
      confirmAcks: false,
    });
    // The durable starts at the stream's beginning: earlier tests' messages come too.
    await until(() => seqs.every((seq) => applier.applied.includes(seq)), 'every message is handled');
    await running.stop();
    assert.equal(mostInFlight, 4, 'four at once, never more');
    assert.equal(applier.repeats, 0, 'none handled twice');
  });

  it('lets the calls in progress finish before stop() resolves', async () => {
    const durable = uniqueId('draining');
    await appendMany('onbind', 8);
    let inFlight = 0;
    let finished = 0;
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async () => {
        inFlight++;
        await new Promise((resolve) => setTimeout(resolve, 300));
        inFlight--;
        finished++;
      }),
      concurrency: 3,
      maxAckPending: 3,
      stopTimeoutMs: 2_000,
    });
    await until(() => inFlight === 3, 'three calls are in progress');
    await running.stop();
    assert.equal(inFlight, 0, 'no call is still running when stop() resolves');
    assert.ok(finished >= 3);
  });

  it('hands a message back to come again after the delay a handler asks for, logging no failure', async () => {
    const durable = uniqueId('later');
    const [seq] = await appendMany('onbind', 1);
    const deliveries: { count: number; at: number }[] = [];
    const errors: string[] = [];
    const log = { ...silentLogger, error: (_: Record<string, unknown>, msg: string) => errors.push(msg) };
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async (message) => {
        if (message.seq !== seq) return undefined;
        deliveries.push({ count: message.deliveryCount, at: Date.now() });
        return deliveries.length === 1 ? { retryInMs: 600 } : undefined;
      }),
      log,
    });
    await until(() => deliveries.length === 2, 'the message comes back');
    await until(async () => (await jsm.consumers.info(STREAM, durable)).num_ack_pending === 0, 'it is acked');
    await running.stop();
    const [first, second] = deliveries;
    assert.ok(first && second);
    assert.deepEqual([first.count, second.count], [1, 2]);
    assert.ok(second.at - first.at >= 550, `back after ${second.at - first.at} ms, asked for 600`);
    assert.deepEqual(errors, []);
  });

  it('keeps a long handler call from being delivered again with in-progress heartbeats', async () => {
    const durable = uniqueId('heartbeat');
    const [seq] = await appendMany('onbind', 1);
    const ackWaitMs = 1_000;
    const deliveries: number[] = [];
    let finished = false;
    const running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async (message) => {
        if (message.seq !== seq) return;
        deliveries.push(message.deliveryCount);
        // Three ack waits: without heartbeats the server would deliver it again twice meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 3 * ackWaitMs));
        finished = true;
      }),
      ackWaitMs,
      progressHeartbeatMs: ackWaitMs / 4,
      concurrency: 2,
      maxAckPending: 2,
    });
    await until(() => finished, 'the long call finishes');
    await until(async () => (await jsm.consumers.info(STREAM, durable)).num_ack_pending === 0, 'it is acked');
    await running.stop();
    assert.deepEqual(deliveries, [1]);
  });

  it('reports itself detached when its durable is deleted, says so once, and creates it again', async () => {
    const durable = uniqueId('deleted');
    const lost: { msg: string; attached: boolean }[] = [];
    let running: Awaited<ReturnType<typeof runConsumer>> | undefined;
    // What it says about its consumer, and whether it reports itself attached at that moment.
    // (Other lines may come too: an ack of an earlier message unconfirmed as the durable goes.)
    const note = (_: Record<string, unknown>, msg: string) => {
      if (msg.startsWith('consumer')) lost.push({ msg, attached: running?.attached() ?? true });
    };
    const handled: number[] = [];
    running = await runConsumer(fx.nc.jetstream(), {
      ...options(durable, async ({ seq }) => {
        handled.push(seq);
      }),
      reattachDelayMs: 50,
      log: { ...silentLogger, error: note, warn: note },
    });
    assert.equal(running.attached(), true);
    await jsm.consumers.delete(STREAM, durable);
    await until(() => lost.length > 0, 'it says the consumer is lost', 40_000);
    await until(() => running.attached(), 'it is attached again');
    assert.deepEqual(lost, [{ msg: lost[0]?.msg ?? '', attached: false }]);
    assert.match(lost[0]?.msg ?? '', /^consumer lost/);
    await jsm.consumers.info(STREAM, durable);
    const [seq] = await appendMany('onbind', 1);
    await until(() => handled.includes(seq ?? -1), 'a new message reaches the handler');
    await running.stop();
    assert.equal(running.attached(), false, 'a stopped consumer is not attached');
  });

  it('waits for a deleted stream without creating it, logging the reason once, and attaches once it is back', async () => {
    const own = await natsWithStreams();
    try {
      const ownJsm = await own.nc.jetstreamManager();
      const warnings: string[] = [];
      const log = {
        ...silentLogger,
        warn: (fields: Record<string, unknown>) => warnings.push(String(fields.reason)),
      };
      const running = await runConsumer(own.nc.jetstream(), {
        ...options(uniqueId('streamless'), async () => {}),
        reattachDelayMs: 20,
        log,
      });
      const config = (await ownJsm.streams.info(STREAM)).config;
      await ownJsm.streams.delete(STREAM);
      await until(() => !running.attached(), 'it reports itself detached', 40_000);
      await until(() => warnings.length > 0, 'a try to attach again fails');
      // Tries at 20 ms doubling (to 5 s): give it several more.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await assert.rejects(ownJsm.streams.info(STREAM), /stream not found/, 'the consumer created the stream');
      assert.equal(running.attached(), false);
      assert.equal(warnings.filter((reason) => reason.includes('does not exist')).length, 1);
      await ownJsm.streams.add(config);
      await until(() => running.attached(), 'it is attached again', 15_000);
      await running.stop();
    } finally {
      await own.close();
    }
  });
});

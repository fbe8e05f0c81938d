import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, EventStore, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { createLogger } from '@tessera/service-kit';
import { startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { deliveryCodec } from './delivery-events.js';
import { type LeaseDeps, takeOn } from './delivery-lease.js';
import type { DeliveryCommand } from './domain/delivery.js';

const LEASE_MS = 10_000;

describe('taking a delivery on, on a real nats-server', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let deps: LeaseDeps;
  let count = 0;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'delivery-lease-test' });
    await provision(nc);
    deps = {
      store: new EventStore(nc),
      now: () => new Date(),
      log: createLogger('notifier', 'silent'),
      leaseMs: LEASE_MS,
    };
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const start = (deliveryId: string): Extract<DeliveryCommand, { type: 'StartDelivery' }> => ({
    type: 'StartDelivery',
    deliveryId,
    source: 'session.s',
    channel: 'email',
    leaseMs: LEASE_MS,
    now: new Date(),
  });
  const newDelivery = () => `dlv-lease-${process.pid}-${++count}`;

  it('takes a new delivery on as attempt 1, and tells a second taker when the lease ends', async () => {
    const deliveryId = newDelivery();
    const subject = subjectOf('delivery', deliveryId);
    const first = await takeOn(deps, subject, start(deliveryId), 'c');
    assert.equal(first.status === 'taken' && first.held.attempt, 1);
    const second = await takeOn(deps, subject, start(deliveryId), 'c');
    assert.equal(second.status, 'leased');
    const [event] = (await deps.store.load(subject)).events;
    assert.ok(event?.payload?.$case === 'deliveryStarted');
    assert.deepEqual(second.status === 'leased' && second.endsAt, event.payload.value.leaseEndsAt);
  });

  it('lets exactly one of several notifiers take over a delivery whose lease ran out', async () => {
    const deliveryId = newDelivery();
    const subject = subjectOf('delivery', deliveryId);
    const ended = new Date(Date.now() - 1);
    const abandoned = deliveryCodec.toStoredEvent({
      type: 'DeliveryStarted',
      data: { deliveryId, source: 'session.s', channel: 'email', attempt: 1, leaseEndsAt: ended, at: ended },
    });
    await deps.store.append(subject, [abandoned], { expectedSeq: 0, correlationId: 'c' });

    const outcomes = await Promise.all(Array.from({ length: 4 }, () => takeOn(deps, subject, start(deliveryId), 'c')));
    const taken = outcomes.filter((outcome) => outcome.status === 'taken');
    assert.equal(taken.length, 1, JSON.stringify(outcomes));
    assert.equal(taken[0]?.status === 'taken' && taken[0].held.attempt, 2);
    assert.ok(outcomes.every((outcome) => outcome.status === 'taken' || outcome.status === 'leased'));
    const attempts = (await deps.store.load(subject)).events.map((event) =>
      event.payload?.$case === 'deliveryStarted' ? event.payload.value.attempt : null,
    );
    assert.deepEqual(attempts, [1, 2]);
  });
});

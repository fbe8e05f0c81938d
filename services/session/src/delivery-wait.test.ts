import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EventStore, newEvent, StoreUnavailable } from '@tessera/event-store';
import type { NatsConnection } from 'nats';
import { deliveryWatcher, outcomeOf } from './delivery-wait.js';

const AT = new Date('2025-01-15T10:00:00Z');
const started = newEvent(
  { $case: 'deliveryStarted', value: { deliveryId: 'd', source: '', channel: 1, attempt: 1, leaseEndsAt: AT } },
  AT,
);
const sent = newEvent({ $case: 'tokenSent', value: { deliveryId: 'd', providerMessageId: '' } }, AT);
const failed = newEvent({ $case: 'tokenSendFailed', value: { deliveryId: 'd', reason: 'refused', refused: true } }, AT);

describe('the outcome of a delivery', () => {
  it('is pending while the notifier has only started', () => {
    assert.deepEqual(outcomeOf([]), { status: 'pending' });
    assert.deepEqual(outcomeOf([started]), { status: 'pending' });
  });

  it('is sent after TokenSent', () => assert.deepEqual(outcomeOf([started, sent]), { status: 'sent' }));

  it('is failed, with the reason, after TokenSendFailed', () =>
    assert.deepEqual(outcomeOf([started, failed]), { status: 'failed', reason: 'refused', refused: true }));
});

describe('waiting for a delivery', () => {
  it('answers pending when the stored delivery cannot be read after the wait: the token is issued all the same', async () => {
    // A port of NATS that delivers nothing, and a store that is away (a NATS restart).
    const nc = { subscribe: () => ({ isClosed: () => false, unsubscribe: () => {} }) } as unknown as NatsConnection;
    const store = {
      load: async () => {
        throw new StoreUnavailable('load tessera.delivery.d: TIMEOUT');
      },
    } as unknown as EventStore;
    const watcher = deliveryWatcher(nc, store);
    assert.deepEqual(await watcher('d').outcome(10), { status: 'pending' });
    watcher.close();
  });

  it('still fails on an error that is not the store being away', async () => {
    const nc = { subscribe: () => ({ isClosed: () => false, unsubscribe: () => {} }) } as unknown as NatsConnection;
    const store = {
      load: async () => {
        throw new TypeError('a bug');
      },
    } as unknown as EventStore;
    await assert.rejects(deliveryWatcher(nc, store)('d').outcome(10), TypeError);
  });
});

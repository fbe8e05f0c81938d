import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newEvent } from '@tessera/event-store';
import { outcomeOf } from './delivery-wait.js';

const AT = new Date('2025-01-15T10:00:00Z');
const started = newEvent({ $case: 'deliveryStarted', value: { deliveryId: 'd', source: '', channel: 1 } }, AT);
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

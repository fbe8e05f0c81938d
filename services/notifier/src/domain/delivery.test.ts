import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DeliveryCommand,
  type DeliveryEvent,
  DeliveryNotStarted,
  decide,
  evolve,
  initialState,
} from './delivery.js';

// given(history).when(command).then(events): history folded with evolve, then decide.
function given(history: DeliveryEvent[]) {
  const state = history.reduce(evolve, initialState());
  return {
    when: (command: DeliveryCommand) => ({
      // biome-ignore lint/suspicious/noThenProperty: given/when/then is the decider tests' vocabulary (STYLE.md §2); never awaited
      then: (expected: DeliveryEvent[]) => assert.deepEqual(decide(command, state), expected),
      thenThrows: (errorClass: new (...args: never[]) => Error) =>
        assert.throws(() => decide(command, state), errorClass),
    }),
  };
}

const ID = 'd-1';
const SOURCE = 'session.s-1';
const T1 = new Date('2025-01-15T10:00:00Z');
const T2 = new Date('2025-01-15T10:00:01Z');

const start = (now = T1): DeliveryCommand => ({
  type: 'StartDelivery',
  deliveryId: ID,
  source: SOURCE,
  channel: 'email',
  now,
});
const refuse = (reason = 'erased', now = T1): DeliveryCommand => ({
  type: 'RefuseDelivery',
  deliveryId: ID,
  source: SOURCE,
  channel: 'email',
  reason,
  now,
});
const recordSent = (now = T2): DeliveryCommand => ({
  type: 'RecordSent',
  deliveryId: ID,
  providerMessageId: '<m@x>',
  now,
});
const recordFailure = (refused: boolean, now = T2): DeliveryCommand => ({
  type: 'RecordFailure',
  deliveryId: ID,
  reason: 'the mail server answered 550 at RCPT TO',
  refused,
  now,
});
const started = (at = T1): DeliveryEvent => ({
  type: 'DeliveryStarted',
  data: { deliveryId: ID, source: SOURCE, channel: 'email', at },
});
const sent = (at = T2): DeliveryEvent => ({
  type: 'TokenSent',
  data: { deliveryId: ID, providerMessageId: '<m@x>', at },
});
const failed = (reason: string, refused: boolean, at = T2): DeliveryEvent => ({
  type: 'TokenSendFailed',
  data: { deliveryId: ID, reason, refused, at },
});

describe('the delivery aggregate', () => {
  it('is taken on when nobody has taken it on yet', () => given([]).when(start()).then([started()]));

  it('is not taken on a second time: a redelivered event sends nothing', () =>
    given([started()]).when(start(T2)).then([]));

  it('is not taken on again after its outcome was recorded', () => given([started(), sent()]).when(start(T2)).then([]));

  it('records the message sent once it was taken on', () => given([started()]).when(recordSent()).then([sent()]));

  it('records a refusal and a failure to reach the provider apart', () => {
    given([started()])
      .when(recordFailure(true))
      .then([failed('the mail server answered 550 at RCPT TO', true)]);
    given([started()])
      .when(recordFailure(false))
      .then([failed('the mail server answered 550 at RCPT TO', false)]);
  });

  it('keeps the first outcome when a second one comes', () => {
    given([started(), sent()]).when(recordFailure(false)).then([]);
    given([started(), failed('x', true)])
      .when(recordSent())
      .then([]);
  });

  it('refuses to record an outcome for a delivery never taken on', () =>
    given([]).when(recordSent()).thenThrows(DeliveryNotStarted));

  it('is given up before sending with both events in one decision, refused', () =>
    given([])
      .when(refuse('erased'))
      .then([started(), failed('erased', true, T1)]));

  it('is not given up once taken on', () => given([started()]).when(refuse()).then([]));
});

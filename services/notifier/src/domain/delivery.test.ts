import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import {
  availability,
  type DeliveryCommand,
  type DeliveryEvent,
  DeliveryNotStarted,
  deliveryDecider,
} from './delivery.js';

const given = deciderSpec(deliveryDecider);
/** Who may work on the delivery `history` folds to, at `now`. */
const availableAfter = (history: DeliveryEvent[], now: Date) => availability(given(history).state, now);

const ID = 'd-1';
const SOURCE = 'session.s-1';
const LEASE_MS = 10_000;
const T1 = new Date('2025-01-15T10:00:00Z');
const at = (ms: number) => new Date(T1.getTime() + ms);
const T2 = at(1_000);

const start = (now = T1): DeliveryCommand => ({
  type: 'StartDelivery',
  deliveryId: ID,
  source: SOURCE,
  channel: 'email',
  leaseMs: LEASE_MS,
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
const renew = (attempt: number, now: Date): DeliveryCommand => ({
  type: 'RenewLease',
  deliveryId: ID,
  attempt,
  leaseMs: LEASE_MS,
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
const started = (
  attempt = 1,
  when = T1,
  leaseEndsAt = at(when.getTime() - T1.getTime() + LEASE_MS),
): DeliveryEvent => ({
  type: 'DeliveryStarted',
  data: { deliveryId: ID, source: SOURCE, channel: 'email', attempt, leaseEndsAt, at: when },
});
const renewed = (attempt: number, when: Date): DeliveryEvent => ({
  type: 'DeliveryLeaseRenewed',
  data: { deliveryId: ID, attempt, leaseEndsAt: new Date(when.getTime() + LEASE_MS), at: when },
});
const sent = (when = T2): DeliveryEvent => ({
  type: 'TokenSent',
  data: { deliveryId: ID, providerMessageId: '<m@x>', at: when },
});
const failed = (reason: string, refused: boolean, when = T2): DeliveryEvent => ({
  type: 'TokenSendFailed',
  data: { deliveryId: ID, reason, refused, at: when },
});

describe('the delivery aggregate', () => {
  it('is taken on, attempt 1, for one lease, when nobody has taken it on yet', () =>
    given([])
      .when(start())
      .then([started(1)]));

  it('is not taken on by anyone else while the lease runs', () => {
    given([started(1)])
      .when(start(T2))
      .then([]);
    given([started(1)])
      .when(start(at(LEASE_MS - 1)))
      .then([]);
  });

  it('is taken over with the next attempt once the lease has run out without an outcome', () => {
    given([started(1)])
      .when(start(at(LEASE_MS)))
      .then([started(2, at(LEASE_MS))]);
    given([started(1), started(2, at(LEASE_MS))])
      .when(start(at(3 * LEASE_MS)))
      .then([started(3, at(3 * LEASE_MS))]);
  });

  it('is not taken over while renewed leases run, and is once the last renewal has run out', () => {
    const history = [started(1), renewed(1, at(3_000)), renewed(1, at(6_000))];
    given(history)
      .when(start(at(LEASE_MS + 5_000)))
      .then([]);
    given(history)
      .when(start(at(16_000)))
      .then([started(2, at(16_000))]);
  });

  it('is not taken on again after its outcome was recorded, however late', () => {
    given([started(), sent()])
      .when(start(at(10 * LEASE_MS)))
      .then([]);
    given([started(), failed('x', false)])
      .when(start(at(10 * LEASE_MS)))
      .then([]);
  });

  it('tells who may work on it: anyone, nobody until the lease ends, or nobody ever', () => {
    assert.deepEqual(availableAfter([], T1), { status: 'open' });
    assert.deepEqual(availableAfter([started(1)], T2), { status: 'leased', endsAt: at(LEASE_MS) });
    assert.deepEqual(availableAfter([started(1)], at(LEASE_MS)), { status: 'open' });
    assert.deepEqual(availableAfter([started(1), sent()], T2), { status: 'finished' });
  });

  it('renews the lease of the attempt that holds it, and of no other attempt', () => {
    given([started(1)])
      .when(renew(1, at(3_000)))
      .then([renewed(1, at(3_000))]);
    given([started(1), started(2, at(LEASE_MS))])
      .when(renew(1, at(LEASE_MS + 1)))
      .then([]);
    given([started(1), sent()])
      .when(renew(1, at(3_000)))
      .then([]);
  });

  it('ignores the renewal of an attempt that was taken over', () =>
    assert.deepEqual(
      availableAfter([started(1), started(2, at(LEASE_MS)), renewed(1, at(LEASE_MS + 1))], at(2 * LEASE_MS)),
      { status: 'open' },
    ));

  it('records the message sent once it was taken on', () => given([started()]).when(recordSent()).then([sent()]));

  it('records the outcome of an attempt that was taken over meanwhile: the message went out', () =>
    given([started(1), started(2, at(LEASE_MS))])
      .when(recordSent(at(LEASE_MS + 1)))
      .then([sent(at(LEASE_MS + 1))]));

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

  it('is given up before sending with both events in one decision, refused, holding no lease', () =>
    given([])
      .when(refuse('erased'))
      .then([started(1, T1, T1), failed('erased', true, T1)]));

  it('is not given up while another notifier holds it', () => given([started()]).when(refuse()).then([]));

  it('is given up, with only its outcome, when the notifier that took it on let the lease run out', () =>
    given([started()])
      .when(refuse('erased', at(LEASE_MS)))
      .then([failed('erased', true, at(LEASE_MS))]));
});

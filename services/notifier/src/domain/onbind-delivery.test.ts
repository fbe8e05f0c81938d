import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import {
  availability,
  backoffMs,
  OnbindAttemptNotStarted,
  type OnbindDeliveryCommand,
  type OnbindDeliveryEvent,
  onbindDeliveryDecider,
} from './onbind-delivery.js';

const given = deciderSpec(onbindDeliveryDecider);
/** Who may attempt the call `history` folds to, at `now`. */
const availableAfter = (history: OnbindDeliveryEvent[], now: Date) => availability(given(history).state, now);

const ID = 'b-1';
const LEASE_MS = 10_000;
const BACKOFF = { baseMs: 2_000, maxMs: 3_600_000 };
const T1 = new Date('2026-12-03T10:00:00Z');
const at = (ms: number) => new Date(T1.getTime() + ms);
const GIVE_UP_AT = at(7 * 86_400_000);
// random 0.5 draws no jitter: the nominal backoff.
const NO_JITTER = 0.5;

const start = (now = T1, giveUpAt = GIVE_UP_AT): OnbindDeliveryCommand => ({
  type: 'StartAttempt',
  onbindId: ID,
  leaseMs: LEASE_MS,
  giveUpAt,
  now,
});
const renew = (attempt: number, now: Date): OnbindDeliveryCommand => ({
  type: 'RenewLease',
  onbindId: ID,
  attempt,
  leaseMs: LEASE_MS,
  now,
});
const recordDelivered = (attempt: number, now: Date, method: 'POST' | 'PUT' = 'POST'): OnbindDeliveryCommand => ({
  type: 'RecordDelivered',
  onbindId: ID,
  attempt,
  method,
  now,
});
const recordFailure = (attempt: number, now: Date, random = NO_JITTER): OnbindDeliveryCommand => ({
  type: 'RecordFailure',
  onbindId: ID,
  attempt,
  reason: 'HTTP 503',
  httpStatus: 503,
  backoff: BACKOFF,
  random,
  giveUpAt: GIVE_UP_AT,
  now,
});
const abandon = (now: Date, reason = 'the sealed call does not open'): OnbindDeliveryCommand => ({
  type: 'Abandon',
  onbindId: ID,
  reason,
  now,
});

const started = (attempt: number, when = T1): OnbindDeliveryEvent => ({
  type: 'OnbindAttemptStarted',
  data: { onbindId: ID, attempt, leaseEndsAt: new Date(when.getTime() + LEASE_MS), at: when },
});
const renewed = (attempt: number, when: Date): OnbindDeliveryEvent => ({
  type: 'OnbindLeaseRenewed',
  data: { onbindId: ID, attempt, leaseEndsAt: new Date(when.getTime() + LEASE_MS), at: when },
});
const failed = (attempt: number, when: Date, retryAt: Date): OnbindDeliveryEvent => ({
  type: 'OnbindAttemptFailed',
  data: { onbindId: ID, attempt, reason: 'HTTP 503', httpStatus: 503, retryAt, at: when },
});
const delivered = (attempt: number, when: Date, method: 'POST' | 'PUT' = 'POST'): OnbindDeliveryEvent => ({
  type: 'OnbindDelivered',
  data: { onbindId: ID, attempt, method, at: when },
});
const abandoned = (attempts: number, when: Date, reason = 'given up: too old'): OnbindDeliveryEvent => ({
  type: 'OnbindAbandoned',
  data: { onbindId: ID, attempts, reason, at: when },
});

describe('the onbind_delivery aggregate', () => {
  it('starts attempt 1, for one lease, when nobody has attempted the call yet', () =>
    given([])
      .when(start())
      .then([started(1)]));

  it('starts no other attempt while the lease runs, renewed or not', () => {
    given([started(1)])
      .when(start(at(LEASE_MS - 1)))
      .then([]);
    given([started(1), renewed(1, at(6_000))])
      .when(start(at(LEASE_MS + 5_000)))
      .then([]);
  });

  it('lets the next attempt start once a lease ran out without an outcome (its notifier died)', () =>
    given([started(1)])
      .when(start(at(LEASE_MS)))
      .then([started(2, at(LEASE_MS))]));

  it('renews the lease of the attempt that holds it, and of no other', () => {
    given([started(1)])
      .when(renew(1, at(3_000)))
      .then([renewed(1, at(3_000))]);
    given([started(1), started(2, at(LEASE_MS))])
      .when(renew(1, at(LEASE_MS + 1)))
      .then([]);
    given([started(1), delivered(1, at(1_000))])
      .when(renew(1, at(3_000)))
      .then([]);
  });

  it('records a failure with the next attempt after base · 2^(attempt-1)', () => {
    given([started(1)])
      .when(recordFailure(1, at(1_000)))
      .then([failed(1, at(1_000), at(3_000))]);
    const third = at(100_000);
    given([started(3, third)])
      .when(recordFailure(3, third))
      .then([failed(3, third, at(100_000 + 8_000))]);
  });

  it('waits at most TESSERA_ONBIND_RETRY_MAX_MS between attempts', () => {
    const late = at(86_400_000);
    given([started(30, late)])
      .when(recordFailure(30, late))
      .then([failed(30, late, new Date(late.getTime() + BACKOFF.maxMs))]);
  });

  it('draws the backoff from ±20 % of its nominal value', () => {
    assert.equal(backoffMs(1, BACKOFF, 0), 1_600);
    assert.equal(backoffMs(1, BACKOFF, NO_JITTER), 2_000);
    assert.equal(backoffMs(1, BACKOFF, 0.999_999), 2_400);
    assert.equal(backoffMs(4, BACKOFF, 0.25), 16_000 * 0.9);
    assert.equal(backoffMs(40, BACKOFF, 1), BACKOFF.maxMs * 1.2);
  });

  it('starts no attempt during the backoff, and the next one once it has passed', () => {
    const history = [started(1), failed(1, at(1_000), at(3_000))];
    given(history)
      .when(start(at(2_999)))
      .then([]);
    given(history)
      .when(start(at(3_000)))
      .then([started(2, at(3_000))]);
  });

  it('tells who may attempt the call: anyone, nobody until the lease or backoff ends, or nobody ever', () => {
    assert.deepEqual(availableAfter([], T1), { status: 'open' });
    assert.deepEqual(availableAfter([started(1)], at(1)), { status: 'leased', until: at(LEASE_MS) });
    assert.deepEqual(availableAfter([started(1), failed(1, at(1), at(2_001))], at(2)), {
      status: 'waiting',
      until: at(2_001),
    });
    assert.deepEqual(availableAfter([started(1), delivered(1, at(1))], at(2)), { status: 'finished' });
    assert.deepEqual(availableAfter([abandoned(0, T1, 'x')], at(2)), { status: 'finished' });
  });

  it('is abandoned, and not called, at give_up_at, with the attempts made so far', () => {
    const history = [started(1), failed(1, at(1), at(2_001))];
    given(history)
      .when(start(at(5_000), at(5_000)))
      .then([abandoned(1, at(5_000))]);
  });

  it('is called once past give_up_at when it was never attempted: a call is not given up untried', () => {
    const late = at(GIVE_UP_AT.getTime() - T1.getTime() + 60_000);
    given([])
      .when(start(late))
      .then([started(1, late)]);
    // That one attempt failed: the next try gives it up.
    given([started(1, late), failed(1, late, GIVE_UP_AT)])
      .when(start(at(GIVE_UP_AT.getTime() - T1.getTime() + 120_000)))
      .then([abandoned(1, at(GIVE_UP_AT.getTime() - T1.getTime() + 120_000))]);
  });

  it('sets no retry later than give_up_at, so that the last try abandons it on time', () => {
    const near = new Date(GIVE_UP_AT.getTime() - 1_000);
    given([started(9, near)])
      .when(recordFailure(9, near))
      .then([failed(9, near, GIVE_UP_AT)]);
  });

  it('is not abandoned for age while a live attempt holds its lease: that attempt may still deliver', () =>
    given([started(1, new Date(GIVE_UP_AT.getTime() - 1))])
      .when(start(GIVE_UP_AT))
      .then([]));

  it('records the call delivered, by POST or by PUT', () => {
    given([started(1)])
      .when(recordDelivered(1, at(1_000)))
      .then([delivered(1, at(1_000))]);
    given([started(2)])
      .when(recordDelivered(2, at(1_000), 'PUT'))
      .then([delivered(2, at(1_000), 'PUT')]);
  });

  it('records the success of an attempt taken over meanwhile: the homeserver did take the call', () =>
    given([started(1), started(2, at(LEASE_MS)), failed(2, at(LEASE_MS + 1), at(LEASE_MS + 2_001))])
      .when(recordDelivered(1, at(LEASE_MS + 5)))
      .then([delivered(1, at(LEASE_MS + 5))]));

  it('ignores the late failure of an attempt taken over: the attempt under way sets the next one', () => {
    given([started(1), started(2, at(LEASE_MS))])
      .when(recordFailure(1, at(LEASE_MS + 1)))
      .then([]);
    assert.deepEqual(
      availableAfter(
        [started(1), started(2, at(LEASE_MS)), failed(1, at(LEASE_MS + 1), at(LEASE_MS + 2))],
        at(LEASE_MS + 3),
      ),
      { status: 'leased', until: at(2 * LEASE_MS) },
    );
  });

  it('does nothing more once delivered or abandoned: no attempt, no other outcome', () => {
    const done = [started(1), delivered(1, at(1_000))];
    given(done)
      .when(start(at(LEASE_MS * 100)))
      .then([]);
    given(done)
      .when(recordFailure(1, at(1_001)))
      .then([]);
    given(done)
      .when(recordDelivered(1, at(1_001)))
      .then([]);
    given(done)
      .when(abandon(at(1_001)))
      .then([]);
    const gaveUp = [abandoned(0, T1, 'x')];
    given(gaveUp)
      .when(start(at(1)))
      .then([]);
    given(gaveUp)
      .when(recordDelivered(1, at(1)))
      .then([]);
  });

  it('refuses to record an outcome for a call never attempted', () => {
    given([]).when(recordDelivered(1, T1)).thenThrows(OnbindAttemptNotStarted);
    given([]).when(recordFailure(1, T1)).thenThrows(OnbindAttemptNotStarted);
  });

  it('is abandoned without a call when it cannot be made, unless a live attempt holds it', () => {
    given([])
      .when(abandon(T1))
      .then([abandoned(0, T1, 'the sealed call does not open')]);
    given([started(1), failed(1, at(1), at(2_001))])
      .when(abandon(at(2)))
      .then([abandoned(1, at(2), 'the sealed call does not open')]);
    given([started(1)])
      .when(abandon(at(1)))
      .then([]);
  });
});

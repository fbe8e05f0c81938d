import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Config, loadConfig } from '@tessera/config';
import { connectNats, DataKeys, EventStore, openDataKeySource, subjectOf } from '@tessera/event-store';
import { createFederationClient } from '@tessera/federation-client';
import { provision } from '@tessera/nats-access';
import type { OnbindRequested } from '@tessera/proto/tessera/events/v1/invite';
import { createLogger, createMetrics } from '@tessera/service-kit';
import { INVITE_SEALED_FIELDS, onbindDataKey } from '@tessera/spec-params';
import {
  captureLogs,
  type FakeHomeserver,
  pollUntil,
  startFakeHomeserver,
  startNats,
  type TestNats,
} from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { onbindBody, type RequestedOnbind, requestOnbind } from '../../test-support/onbind-fixture.js';
import type { OnbindDeliveryEvent } from '../domain/onbind-delivery.js';
import { onbindDeliveryCodec } from './onbind-delivery-events.js';
import { ONBIND_DURABLE, type RunningOnbindDelivery, startOnbindDelivery } from './start-onbind-delivery.js';

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 400;
const LEASE_MS = 2_000;
const DAY_MS = 86_400_000;
const OUTCOMES = new Set(['OnbindDelivered', 'OnbindAbandoned']);

describe('onbind delivery on a real nats-server and a fake homeserver', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let hs: FakeHomeserver;
  let store: EventStore;
  let dataKeys: DataKeys;
  let delivery: RunningOnbindDelivery | undefined;
  const { log, lines } = captureLogs((stream) => createLogger('notifier', 'debug', stream));
  const logOutput = () => lines.map((line) => JSON.stringify(line)).join('\n');
  const requested: RequestedOnbind[] = [];
  const metrics = createMetrics('notifier');

  const config = (outboundAllow: string): Config =>
    loadConfig({
      TESSERA_NATS_URL: nats.url,
      TESSERA_OUTBOUND_ALLOW: outboundAllow,
      TESSERA_DELIVERY_LEASE_MS: String(LEASE_MS),
      TESSERA_ONBIND_RETRY_BASE_MS: String(RETRY_BASE_MS),
      TESSERA_ONBIND_RETRY_MAX_MS: String(RETRY_MAX_MS),
      TESSERA_NOTIFIER_CONCURRENCY: '4',
    });
  /**
   * A notifier's onbind delivery, reaching the fake (trusting its CA) only where `outboundAllow`
   * lets it; `discoveryTimeoutMs`: the federation client's own deadline (10 s by default).
   */
  const start = async (outboundAllow = '127.0.0.0/8', discoveryTimeoutMs?: number) => {
    const settings = config(outboundAllow);
    const federation = createFederationClient({
      allowCidrs: settings.TESSERA_OUTBOUND_ALLOW,
      verifyTls: true,
      ca: hs.caPem,
      ...(discoveryTimeoutMs === undefined ? {} : { timeoutMs: discoveryTimeoutMs }),
    });
    // No jitter: each wait is exactly base · 2^(attempt-1), capped.
    delivery = await startOnbindDelivery({ config: settings, log, nc, metrics, federation, random: () => 0.5 });
  };
  const stop = async () => {
    await delivery?.stop();
    delivery = undefined;
  };
  const request = async (giveUpAt = new Date(Date.now() + DAY_MS)) => {
    const body = onbindBody(`@invitee${requested.length}:${hs.serverName}`);
    const made = await requestOnbind({ store, dataKeys }, { destination: hs.serverName, body, giveUpAt });
    requested.push(made);
    return made;
  };
  const attemptsOf = async (onbindId: string): Promise<OnbindDeliveryEvent[]> =>
    onbindDeliveryCodec.fromStoredEvents((await store.load(subjectOf('onbind_delivery', onbindId))).events);
  const outcomeOf = (onbindId: string) =>
    pollUntil(`onbind ${onbindId} has an outcome`, async () => {
      const events = await attemptsOf(onbindId);
      return events.some((event) => OUTCOMES.has(event.type)) ? events : undefined;
    });
  const callsFor = ({ body }: RequestedOnbind) =>
    hs.onbindCalls.filter((call) => (call.body as { mxid?: string }).mxid === body.mxid);
  /** Its sealed call, opened as another notifier would: null once the key is erased. */
  const openCall = async (onbindId: string) => {
    const event = (await store.load(subjectOf('onbind', onbindId))).events[0];
    assert.equal(event?.payload?.$case, 'onbindRequested');
    const { call } = event.payload.value as OnbindRequested;
    assert.ok(call);
    // Without the test's own cache, which still holds the key it sealed with.
    const uncached = new DataKeys(await openDataKeySource(nc));
    return uncached.openField(onbindDataKey(onbindId), INVITE_SEALED_FIELDS.call, call);
  };
  const consumerIdle = () =>
    pollUntil('the onbind consumer has nothing pending', async () => {
      const info = await (await nc.jetstreamManager()).consumers.info('TESSERA_EVENTS', ONBIND_DURABLE);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
    });
  /** Its outcome is OnbindDelivered on the first attempt, after one POST, and nothing more comes. */
  const deliveredAfterOneCall = async (made: RequestedOnbind) => {
    const events = await outcomeOf(made.onbindId);
    assert.deepEqual(
      events.map((event) => event.type).filter((type) => type !== 'OnbindLeaseRenewed'),
      ['OnbindAttemptStarted', 'OnbindDelivered'],
    );
    await consumerIdle();
    assert.deepEqual(callsFor(made), [{ method: 'POST', body: made.body, status: 200 }]);
  };
  const counted = async (outcome: string) =>
    (await metrics.registry.getSingleMetric('tessera_notifier_onbind_attempts_total')?.get())?.values.find(
      (value) => value.labels.outcome === outcome,
    )?.value ?? 0;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'notifier-onbind-test' });
    await provision(nc);
    store = new EventStore(nc);
    dataKeys = new DataKeys(await openDataKeySource(nc));
    hs = await startFakeHomeserver();
    await start();
  });
  after(async () => {
    await stop();
    await nc?.close();
    await nats?.stop();
    await hs?.close();
  });

  it('POSTs the body to the homeserver once, records OnbindDelivered, erases the call, and sends nothing more', async () => {
    const delivered = await counted('delivered');
    const made = await request();
    const events = await outcomeOf(made.onbindId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['OnbindAttemptStarted', 'OnbindDelivered'],
    );
    assert.deepEqual(events[1]?.data, { onbindId: made.onbindId, attempt: 1, method: 'POST', at: events[1]?.data.at });
    assert.deepEqual(callsFor(made), [{ method: 'POST', body: made.body, status: 200 }]);
    const recorded = hs.requests.findLast((r) => r.path === '/_matrix/federation/v1/3pid/onbind');
    assert.equal(recorded?.headers['content-type'], 'application/json');
    assert.equal(recorded?.headers.host, hs.serverName);
    assert.equal(
      await pollUntil('the call is erased', async () => ((await openCall(made.onbindId)) === null ? true : undefined)),
      true,
    );
    await consumerIdle();
    assert.equal(callsFor(made).length, 1);
    assert.equal(await counted('delivered'), delivered + 1);
  });

  it('never gives a message up: the durable has no max deliveries, so a call is retried for days', async () => {
    const info = await (await nc.jetstreamManager()).consumers.info('TESSERA_EVENTS', ONBIND_DURABLE);
    assert.equal(info.config.max_deliver, -1);
    assert.equal(info.config.filter_subject, 'tessera.onbind.>');
  });

  it('tries again after each failure, waiting base · 2^(attempt-1) up to the max, until the homeserver takes it', async () => {
    const failed = await counted('failed');
    hs.failOnbind(503, 4);
    const made = await request();
    const events = await outcomeOf(made.onbindId);
    assert.deepEqual(
      events
        .map((event) =>
          event.type === 'OnbindLeaseRenewed'
            ? null
            : `${event.type} ${'attempt' in event.data ? event.data.attempt : ''}`,
        )
        .filter(Boolean),
      [
        'OnbindAttemptStarted 1',
        'OnbindAttemptFailed 1',
        'OnbindAttemptStarted 2',
        'OnbindAttemptFailed 2',
        'OnbindAttemptStarted 3',
        'OnbindAttemptFailed 3',
        'OnbindAttemptStarted 4',
        'OnbindAttemptFailed 4',
        'OnbindAttemptStarted 5',
        'OnbindDelivered 5',
      ],
    );
    const failures = events.filter((event) => event.type === 'OnbindAttemptFailed');
    const starts = events.filter((event) => event.type === 'OnbindAttemptStarted');
    failures.forEach((failure, i) => {
      assert.equal(failure.data.reason, 'POST answered HTTP 503');
      assert.equal(failure.data.httpStatus, 503);
      const waitedMs = failure.data.retryAt.getTime() - failure.data.at.getTime();
      assert.equal(waitedMs, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** i), `backoff after attempt ${i + 1}`);
      const next = starts[i + 1];
      assert.ok(
        next && next.data.at.getTime() >= failure.data.retryAt.getTime(),
        'the next attempt waits for retry_at',
      );
    });
    assert.deepEqual(
      callsFor(made).map((call) => call.status),
      [503, 503, 503, 503, 200],
    );
    assert.equal(await counted('failed'), failed + 4);
    assert.equal(await openCall(made.onbindId), null);
  });

  it('sends PUT once when POST answers 404 or 405, and records the method that delivered', async () => {
    for (const status of [404, 405]) {
      hs.failOnbind(status, 1);
      const made = await request();
      const events = await outcomeOf(made.onbindId);
      const delivered = events.at(-1);
      assert.equal(delivered?.type, 'OnbindDelivered');
      assert.equal(delivered.data.method, 'PUT');
      assert.deepEqual(
        callsFor(made).map(({ method, status }) => `${method} ${status}`),
        [`POST ${status}`, 'PUT 200'],
      );
    }
  });

  it('records a failure when the PUT fails too, and PUTs once per attempt only', async () => {
    hs.failOnbind(404, 3);
    const made = await request();
    const events = await outcomeOf(made.onbindId);
    assert.equal(events.find((event) => event.type === 'OnbindAttemptFailed')?.data.reason, 'PUT answered HTTP 404');
    assert.deepEqual(
      callsFor(made).map(({ method, status }) => `${method} ${status}`),
      ['POST 404', 'PUT 404', 'POST 404', 'PUT 200'],
    );
  });

  it('calls once a call past its give_up_at that was never attempted, abandons it when that fails, and erases it', async () => {
    const abandoned = await counted('abandoned');
    hs.failOnbind(500, 1);
    const made = await request(new Date(Date.now() - 1));
    const events = await outcomeOf(made.onbindId);
    assert.deepEqual(
      events.map((event) => event.type).filter((type) => type !== 'OnbindLeaseRenewed'),
      ['OnbindAttemptStarted', 'OnbindAttemptFailed', 'OnbindAbandoned'],
    );
    assert.deepEqual(events.at(-1)?.data, {
      onbindId: made.onbindId,
      attempts: 1,
      reason: 'given up: too old',
      at: events.at(-1)?.data.at,
    });
    assert.equal(await openCall(made.onbindId), null);
    await consumerIdle();
    assert.deepEqual(
      callsFor(made).map((call) => call.status),
      [500],
    );
    assert.equal(await counted('abandoned'), abandoned + 1);
  });

  it('keeps trying a failing homeserver until give_up_at, then abandons it, not before', async () => {
    hs.failOnbind(500, 1_000);
    const giveUpAt = new Date(Date.now() + 1_500);
    const made = await request(giveUpAt);
    const events = await outcomeOf(made.onbindId);
    hs.failOnbind(200, 0);
    const last = events.at(-1);
    assert.equal(last?.type, 'OnbindAbandoned');
    assert.ok(last.data.at.getTime() >= giveUpAt.getTime(), 'abandoned at give_up_at, not before');
    const attempts = events.filter((event) => event.type === 'OnbindAttemptStarted').length;
    assert.ok(attempts >= 2, `${attempts} attempts`);
    assert.equal(last.data.attempts, attempts);
    assert.equal(callsFor(made).length, attempts);
    for (const failure of events.filter((event) => event.type === 'OnbindAttemptFailed'))
      assert.ok(failure.data.retryAt.getTime() <= giveUpAt.getTime(), 'no retry set past give_up_at');
    assert.equal(await openCall(made.onbindId), null);
  });

  it('refuses the loopback homeserver unless TESSERA_OUTBOUND_ALLOW covers it, retrying until it does', async () => {
    await stop();
    await start('');
    const made = await request();
    const refused = await pollUntil('a refused attempt is recorded', async () =>
      (await attemptsOf(made.onbindId)).find((event) => event.type === 'OnbindAttemptFailed'),
    );
    assert.equal(refused.type === 'OnbindAttemptFailed' && refused.data.reason, 'POST: refused by the outbound guard');
    assert.equal(refused.type === 'OnbindAttemptFailed' && refused.data.httpStatus, 0);
    assert.ok(logOutput().includes('onbind destination cannot be reached as is'), 'the log says why');
    assert.deepEqual(callsFor(made), [], 'nothing reached the homeserver');
    await stop();
    await start('127.0.0.0/8');
    const events = await outcomeOf(made.onbindId);
    assert.equal(events.at(-1)?.type, 'OnbindDelivered');
    assert.deepEqual(callsFor(made), [{ method: 'POST', body: made.body, status: 200 }]);
  });

  it('records a 200 whose body is over the reply cap as delivered, after one call', async () => {
    hs.shapeOnbindSuccess({ bodyBytes: 256 * 1024 });
    try {
      await deliveredAfterOneCall(await request());
    } finally {
      hs.shapeOnbindSuccess({});
    }
  });

  it('waits for a 200 that comes after the discovery timeout (the call has TESSERA_ONBIND_TIMEOUT_MS), and records it delivered after one call', async () => {
    await stop();
    await start('127.0.0.0/8', 500);
    hs.shapeOnbindSuccess({ delayMs: 1_500 });
    try {
      await deliveredAfterOneCall(await request());
    } finally {
      hs.shapeOnbindSuccess({});
      await stop();
      await start();
    }
  });

  it('on stop, gives a call in progress up and records it failed before stop() resolves; the next notifier calls again after the base wait', async () => {
    // A first attempt refused by the guard, so that the call given up is a second one, whose
    // wait after a failure of the homeserver's would be twice the base.
    await stop();
    await start('');
    const made = await request();
    await pollUntil('the first attempt failed', async () =>
      (await attemptsOf(made.onbindId)).some((event) => event.type === 'OnbindAttemptFailed') ? true : undefined,
    );
    await stop();
    hs.holdOnbind(1);
    await start();
    await hs.waitForOnbind((call) => call.status === 0 && (call.body as { mxid?: string }).mxid === made.body.mxid);
    await stop();
    const failed = (await attemptsOf(made.onbindId)).filter((event) => event.type === 'OnbindAttemptFailed')[1];
    assert.ok(failed?.type === 'OnbindAttemptFailed', 'the failed attempt is recorded when stop() resolves');
    assert.equal(failed.data.attempt, 2);
    assert.equal(failed.data.reason, 'POST: given up: the notifier stopped');
    assert.equal(
      failed.data.retryAt.getTime() - failed.data.at.getTime(),
      RETRY_BASE_MS,
      'retried after the base wait',
    );
    await start();
    const events = await outcomeOf(made.onbindId);
    assert.equal(events.at(-1)?.type, 'OnbindDelivered');
    assert.deepEqual(
      callsFor(made).map((call) => call.status),
      [0, 200],
    );
  });

  it('logs no address, Matrix user ID or invite token, only onbind ids and the destination', async () => {
    assert.ok(requested.length >= 5);
    assert.ok(logOutput().includes(requested[0]?.onbindId ?? '-'));
    for (const { body } of requested) {
      const invite = (body.invites as Array<{ token: string }>)[0];
      for (const secret of [body.address, body.mxid, invite?.token ?? '-'])
        assert.equal(logOutput().includes(secret), false, `the log shows ${secret}`);
    }
  });
});

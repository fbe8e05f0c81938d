import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectNats, DataKeys, EventStore, openDataKeySource, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import {
  type FakeHomeserver,
  pollUntil,
  startFakeHomeserver,
  startNats,
  startSmtpServer,
  type TestNats,
  type TestSmtpServer,
} from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { onbindBody, type RequestedOnbind, requestOnbind } from '../../test-support/onbind-fixture.js';
import type { OnbindDeliveryEvent } from '../domain/onbind-delivery.js';
import { onbindDeliveryCodec } from './onbind-delivery-events.js';
import { ONBIND_DURABLE } from './start-onbind-delivery.js';

// The notifier as a real process, killed with SIGKILL between two attempts of an onbind call and
// during one, then started again: the call is delivered, and once it is, nothing more is sent.

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const LEASE_MS = 2_000;
// Long enough that a kill right after the first failure lands before the second attempt.
const RETRY_BASE_MS = 5_000;
// Patience for what a loaded machine makes slow (a process starting, a lease running out).
const WAIT_MS = 60_000;

describe('onbind delivery when the notifier is killed with SIGKILL', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let smtp: TestSmtpServer;
  let hs: FakeHomeserver;
  let store: EventStore;
  let dataKeys: DataKeys;
  let child: ChildProcess | undefined;

  /** A notifier process; resolves once it consumes OnbindRequested. */
  const startNotifier = async () => {
    let stdout = '';
    const started = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        TESSERA_NATS_URL: nats.url,
        TESSERA_SMTP_URL: smtp.url,
        TESSERA_METRICS_LISTEN: '127.0.0.1:0',
        TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8',
        // The fake's certificate is its own CA's, which this process does not know.
        TESSERA_OUTBOUND_VERIFY_TLS: 'false',
        TESSERA_DELIVERY_LEASE_MS: String(LEASE_MS),
        TESSERA_ONBIND_RETRY_BASE_MS: String(RETRY_BASE_MS),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child = started;
    await pollUntil(
      'the notifier consumes OnbindRequested',
      async () => (stdout.includes('notifier consuming OnbindRequested') ? true : undefined),
      WAIT_MS,
    );
  };
  const kill = async () => {
    const running = child;
    assert.ok(running && running.exitCode === null, 'a notifier is running');
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');
    child = undefined;
  };
  const request = async (): Promise<RequestedOnbind> => {
    const body = onbindBody(`@killed${Date.now()}:${hs.serverName}`);
    const giveUpAt = new Date(Date.now() + 86_400_000);
    return requestOnbind({ store, dataKeys }, { destination: hs.serverName, body, giveUpAt });
  };
  const attemptsOf = async (onbindId: string): Promise<OnbindDeliveryEvent[]> =>
    onbindDeliveryCodec.fromStoredEvents((await store.load(subjectOf('onbind_delivery', onbindId))).events);
  const callsFor = ({ body }: RequestedOnbind) =>
    hs.onbindCalls.filter((call) => (call.body as { mxid?: string }).mxid === body.mxid);
  const deliveredAfterRestart = (made: RequestedOnbind) =>
    pollUntil(
      'the call is delivered',
      async () => {
        const events = await attemptsOf(made.onbindId);
        return events.some((event) => event.type === 'OnbindDelivered') ? events : undefined;
      },
      WAIT_MS,
    );
  /** Once its consumer holds nothing (acked), nothing more can be sent for what it had. */
  const consumerIdle = () =>
    pollUntil(
      'the onbind consumer has nothing pending',
      async () => {
        const info = await (await nc.jetstreamManager()).consumers.info('TESSERA_EVENTS', ONBIND_DURABLE);
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      },
      WAIT_MS,
    );
  const outline = (events: OnbindDeliveryEvent[]) =>
    events
      .filter((event) => event.type !== 'OnbindLeaseRenewed')
      .map((event) => `${event.type} ${'attempt' in event.data ? event.data.attempt : ''}`);

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'notifier-onbind-fault-test' });
    await provision(nc);
    store = new EventStore(nc);
    dataKeys = new DataKeys(await openDataKeySource(nc));
    smtp = await startSmtpServer();
    hs = await startFakeHomeserver();
  });
  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await nc?.close();
    await nats?.stop();
    await smtp?.close();
    await hs?.close();
  });

  it('killed between two attempts: the started notifier makes the next attempt at its retry_at, and delivers once', async () => {
    hs.failOnbind(503, 1);
    await startNotifier();
    const made = await request();
    const failed = await pollUntil(
      'the first attempt has failed',
      async () => (await attemptsOf(made.onbindId)).find((event) => event.type === 'OnbindAttemptFailed'),
      WAIT_MS,
    );
    await kill();
    assert.deepEqual(
      callsFor(made).map((call) => call.status),
      [503],
      'killed before the second attempt',
    );

    await startNotifier();
    const events = await deliveredAfterRestart(made);
    assert.deepEqual(outline(events), [
      'OnbindAttemptStarted 1',
      'OnbindAttemptFailed 1',
      'OnbindAttemptStarted 2',
      'OnbindDelivered 2',
    ]);
    const second = events.find((event) => event.type === 'OnbindAttemptStarted' && event.data.attempt === 2);
    assert.ok(failed.type === 'OnbindAttemptFailed' && second);
    assert.ok(second.data.at.getTime() >= failed.data.retryAt.getTime(), 'not before retry_at');
    await consumerIdle();
    assert.deepEqual(
      callsFor(made).map((call) => `${call.method} ${call.status}`),
      ['POST 503', 'POST 200'],
    );
    await kill();
  });

  it('killed during an attempt: after its lease runs out the started notifier calls again, once, and nothing follows', async () => {
    hs.holdOnbind(1);
    await startNotifier();
    const made = await request();
    await hs.waitForOnbind((call) => (call.body as { mxid?: string }).mxid === made.body.mxid, WAIT_MS);
    await kill();

    await startNotifier();
    const events = await deliveredAfterRestart(made);
    assert.deepEqual(outline(events), ['OnbindAttemptStarted 1', 'OnbindAttemptStarted 2', 'OnbindDelivered 2']);
    // Nobody called while the killed attempt's lease (as last renewed) ran.
    const leaseEnds = events
      .filter((event) => event.type === 'OnbindAttemptStarted' || event.type === 'OnbindLeaseRenewed')
      .filter((event) => event.data.attempt === 1)
      .map((event) => ('leaseEndsAt' in event.data ? event.data.leaseEndsAt.getTime() : 0));
    const second = events.find((event) => event.type === 'OnbindAttemptStarted' && event.data.attempt === 2);
    assert.ok(second && second.data.at.getTime() >= Math.max(...leaseEnds), 'taken over once the lease ran out');
    await consumerIdle();
    assert.deepEqual(
      callsFor(made).map((call) => `${call.method} ${call.status}`),
      ['POST 0', 'POST 200'],
      'the held call, then one more, then nothing',
    );
    await kill();
  });
});

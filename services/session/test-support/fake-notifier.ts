// A test double of the notifier for this package's integration tests; not used by the service.
// It reads TokenIssued like the real one (opening the sealed fields by their contract names) and
// writes the outcome the test asks for to `tessera.delivery.<delivery_id>`.
import { DataKeys, decodeEnvelope, EventStore, newEvent, openDataKeySource } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { SESSION_SEALED_FIELDS as SEALED } from '@tessera/spec-params';
import type { NatsConnection } from 'nats';
import { deliverySubject } from '../src/aggregates.js';

/** send: TokenSent; fail: TokenSendFailed (refused); silent: DeliveryStarted and nothing more. */
export type NotifierMode = 'send' | 'fail' | 'silent';

/** One TokenIssued, with its sealed fields opened. */
export type Delivered = {
  sid: string;
  deliveryId: string;
  sendAttempt: number;
  token: string;
  clientSecret: string;
  clientIp: string | null;
  /** From SessionStarted when it came in the same decision; null for a resend. */
  address: string | null;
  nextLink: string | null;
};

export interface FakeNotifier {
  mode: NotifierMode;
  readonly delivered: Delivered[];
  readonly errors: unknown[];
  waitFor(predicate: (delivery: Delivered) => boolean, timeoutMs?: number): Promise<Delivered>;
  stop(): void;
}

export const FAILURE_REASON = 'mailbox unavailable (test)';

export async function startFakeNotifier(nc: NatsConnection): Promise<FakeNotifier> {
  const dataKeys = new DataKeys(await openDataKeySource(nc));
  const store = new EventStore(nc);
  const delivered: Delivered[] = [];
  const errors: unknown[] = [];

  const open = async (aggregate: string, field: string, sealed: Sealed | undefined) => {
    if (sealed === undefined) return null;
    const bytes = await dataKeys.openField(aggregate, field, sealed);
    return bytes === null ? null : Buffer.from(bytes).toString('utf8');
  };

  async function report(deliveryId: string, mode: NotifierMode): Promise<void> {
    const subject = deliverySubject(deliveryId);
    const now = new Date();
    const started = newEvent(
      { $case: 'deliveryStarted', value: { deliveryId, source: '', channel: 0, attempt: 1, leaseEndsAt: now } },
      now,
    );
    const seq = await store.append(subject, [started], { expectedSeq: 0, correlationId: 'fake-notifier' });
    if (mode === 'silent') return;
    const outcome: Event =
      mode === 'send'
        ? newEvent({ $case: 'tokenSent', value: { deliveryId, providerMessageId: '' } }, now)
        : newEvent({ $case: 'tokenSendFailed', value: { deliveryId, reason: FAILURE_REASON, refused: true } }, now);
    await store.append(subject, [outcome], { expectedSeq: seq, correlationId: 'fake-notifier' });
  }

  async function onDecision(data: Uint8Array, mode: NotifierMode): Promise<void> {
    const { aggregate, events } = decodeEnvelope(data);
    let address: string | null = null;
    let nextLink: string | null = null;
    for (const event of events) {
      const payload = event.payload;
      if (payload?.$case === 'sessionStarted') {
        address = await open(aggregate, SEALED.address, payload.value.address);
        nextLink = await open(aggregate, SEALED.nextLink, payload.value.nextLink);
      }
      if (payload?.$case !== 'tokenIssued') continue;
      if (payload.value.imported) continue; // as the real one: the server it came from sent it
      const { sid, deliveryId, sendAttempt } = payload.value;
      const token = await open(aggregate, SEALED.token, payload.value.token);
      const clientSecret = await open(aggregate, SEALED.clientSecret, payload.value.clientSecret);
      const clientIp = await open(aggregate, SEALED.clientIp, payload.value.clientIp);
      if (token === null || clientSecret === null) throw new Error(`TokenIssued of ${sid} did not open`);
      delivered.push({ sid, deliveryId, sendAttempt, token, clientSecret, clientIp, address, nextLink });
      await report(deliveryId, mode);
    }
  }

  const notifier: FakeNotifier = {
    mode: 'send',
    delivered,
    errors,
    waitFor: async (predicate, timeoutMs = 5_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = delivered.find(predicate);
        if (found) return found;
        if (Date.now() > until) throw new Error('the fake notifier saw no such delivery');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop: () => subscription.unsubscribe(),
  };
  const subscription = nc.subscribe('tessera.session.>', {
    callback: (err, msg) => {
      if (err !== null) return void errors.push(err);
      onDecision(msg.data, notifier.mode).catch((failure: unknown) => errors.push(failure));
    },
  });
  return notifier;
}

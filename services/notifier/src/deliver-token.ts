import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyConflict, type DataKeys, type EventStore, StoreUnavailable, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { TokenIssued } from '@tessera/proto/tessera/events/v1/session';
import type { Logger } from '@tessera/service-kit';
import { newMessageId, TemplateRenderFailed, type Templates } from '@tessera/templates';
import { fromStoredEvents, toStoredEvent } from './delivery-events.js';
import {
  type Delivery,
  type DeliveryChannel,
  type DeliveryCommand,
  decide,
  evolve,
  initialState,
} from './domain/delivery.js';
import type { Mailer } from './email/smtp-mailer.js';
import { verificationLink } from './email/verification-link.js';
import type { NotifierCounters } from './metrics.js';
import type { SendOutcome } from './send-outcome.js';
import { openSession, type SessionSecrets, type UnusableSession } from './session-secrets.js';
import { smsBody } from './sms/sms-body.js';
import { type SmsProvider, SmsRefused, SmsUnavailable } from './sms/sms-provider.js';

export type DeliveryDeps = {
  store: EventStore;
  dataKeys: DataKeys;
  templates: Templates;
  mailer: Mailer;
  sms: SmsProvider;
  /** TESSERA_EMAIL_FROM, and its bare address for MAIL FROM. */
  emailFrom: string;
  envelopeFrom: string;
  /** TESSERA_PUBLIC_BASE_URL: where the mail's link points. */
  publicBaseUrl: string;
  /** The SMS text, `{token}` for the token. */
  smsBodyTemplate: string;
  now: () => Date;
  log: Logger;
  counters: NotifierCounters;
};

/** Where a TokenIssued came from: its session aggregate (`session.<sid>`), its decision's events, its correlation id. */
export type IssuedContext = {
  aggregate: string;
  issuedEventId: string;
  /** Every event of the decision the TokenIssued came in (usually with its SessionStarted). */
  decision: readonly Event[];
  correlationId: string;
};

type LogFields = { deliveryId: string; sid: string; correlationId: string };

/** A message ready to go: everything that may fail for good has failed before the delivery is taken on. */
type Prepared =
  | { channel: 'email'; mail: Parameters<Mailer['send']>[0] }
  | { channel: 'sms'; to: string; body: string };

// The outcome must reach the stream, or the session service waits in vain: retry a store that is
// briefly away (a NATS restart or leader election) before giving up.
const OUTCOME_RETRY_DELAYS_MS = [200, 1_000, 3_000];

/**
 * Delivers one TokenIssued, at most once:
 * 1. open the session's sealed fields and prepare the message (nothing recorded yet, so a failure
 *    that a later try may cure is simply retried when the event comes again);
 * 2. take the delivery on, DeliveryStarted on `tessera.delivery.<id>`, expecting it to be new; if
 *    it was taken on already (the event came again) stop here: never a second message;
 * 3. send, and record TokenSent or TokenSendFailed after it.
 * A delivery that cannot be made at all (erased data, no such session, a broken template) is
 * recorded started and failed in one decision, with nothing sent.
 */
export async function deliverToken(deps: DeliveryDeps, issued: TokenIssued, context: IssuedContext): Promise<void> {
  const { log, counters } = deps;
  const { deliveryId, sid } = issued;
  const subject = subjectOf('delivery', deliveryId);
  const { correlationId } = context;
  const fields: LogFields = { deliveryId, sid, correlationId };

  const opened = await openSession(deps, { ...context, issued });
  const prepared = opened.status === 'open' ? prepare(deps, issued, opened.secrets) : opened;
  if ('status' in prepared) {
    const channel = channelOf(prepared.medium);
    const command: DeliveryCommand = {
      type: 'RefuseDelivery',
      deliveryId,
      source: context.aggregate,
      channel,
      reason: prepared.reason,
      now: deps.now(),
    };
    const seq = await decideOn(deps, subject, command, { state: initialState(), expectedSeq: 0, correlationId });
    if (seq === null) return repeated(deps, fields);
    counters.failed.inc({ channel, refused: 'true' });
    log.warn({ ...fields, channel, reason: prepared.reason }, 'delivery given up before sending');
    return;
  }

  const { channel } = prepared;
  const start: DeliveryCommand = {
    type: 'StartDelivery',
    deliveryId,
    source: context.aggregate,
    channel,
    now: deps.now(),
  };
  const claimedSeq = await decideOn(deps, subject, start, { state: initialState(), expectedSeq: 0, correlationId });
  if (claimedSeq === null) return repeated(deps, fields);

  const outcome = await send(deps, prepared);
  const record: DeliveryCommand = outcome.sent
    ? { type: 'RecordSent', deliveryId, providerMessageId: outcome.providerMessageId, now: deps.now() }
    : { type: 'RecordFailure', deliveryId, reason: outcome.reason, refused: outcome.refused, now: deps.now() };
  await recordOutcome(deps, subject, record, { claimedSeq, channel, fields });
  if (outcome.sent) {
    counters.sent.inc({ channel });
    log.info({ ...fields, channel, providerMessageId: outcome.providerMessageId }, 'validation message sent');
  } else {
    counters.failed.inc({ channel, refused: String(outcome.refused) });
    log.warn({ ...fields, channel, reason: outcome.reason, refused: outcome.refused }, 'validation message not sent');
  }
}

function prepare(deps: DeliveryDeps, issued: TokenIssued, secrets: SessionSecrets): Prepared | UnusableSession {
  if (secrets.medium === 'msisdn')
    return { channel: 'sms', to: secrets.address, body: smsBody(deps.smsBodyTemplate, secrets.token) };
  const messageId = newMessageId(deps.emailFrom);
  const link = verificationLink(deps.publicBaseUrl, {
    token: secrets.token,
    clientSecret: secrets.clientSecret ?? '',
    sid: issued.sid,
  });
  try {
    const raw = deps.templates.renderVerificationEmail(issued.brand || undefined, {
      to: secrets.address,
      from: deps.emailFrom,
      token: secrets.token,
      link,
      ipaddress: secrets.clientIp,
      date: deps.now(),
      messageid: messageId,
    });
    return { channel: 'email', mail: { envelopeFrom: deps.envelopeFrom, to: secrets.address, raw, messageId } };
  } catch (err) {
    // The same template fails the same way every time: give the delivery up rather than retry.
    if (!(err instanceof TemplateRenderFailed)) throw err;
    deps.log.error({ sid: issued.sid, deliveryId: issued.deliveryId, err: err.message }, 'mail template failed');
    return { status: 'unusable', medium: 'email', reason: 'the mail template failed to render' };
  }
}

async function send(deps: DeliveryDeps, prepared: Prepared): Promise<SendOutcome> {
  if (prepared.channel === 'email') return deps.mailer.send(prepared.mail);
  try {
    const { messageId } = await deps.sms.send({ to: prepared.to, body: prepared.body });
    return { sent: true, providerMessageId: messageId ?? '' };
  } catch (err) {
    // SmsRefused and SmsUnavailable name no number; anything else is reduced to its class.
    if (err instanceof SmsRefused) return { sent: false, refused: true, reason: err.message };
    if (err instanceof SmsUnavailable) return { sent: false, refused: false, reason: err.message };
    return { sent: false, refused: false, reason: 'the SMS provider failed' };
  }
}

/**
 * Appends what `command` decides on a delivery believed to be at `expectedSeq` in `state`: no
 * load first, as a delivery is new when it is taken on (expectedSeq 0) and just taken on when its
 * outcome is recorded. Returns the appended sequence, or null when the belief was wrong (someone
 * else appended first) and `command` decided nothing on the newer history.
 *
 * Each append gets a fresh message id: a fixed one would make NATS answer a second StartDelivery
 * with the first one's ack (deduplication), and the second worker would believe it had taken the
 * delivery on.
 */
async function decideOn(
  deps: DeliveryDeps,
  subject: string,
  command: DeliveryCommand,
  { state, expectedSeq, correlationId }: { state: Delivery; expectedSeq: number; correlationId: string },
): Promise<number | null> {
  const decided = decide(command, state);
  if (decided.length === 0) return null;
  try {
    return await deps.store.append(subject, decided.map(toStoredEvent), { expectedSeq, correlationId });
  } catch (err) {
    if (!(err instanceof ConcurrencyConflict)) throw err;
  }
  // Someone appended first: decide again on what is there now (load, decide, append).
  const handled = await deps.store.handle(
    subject,
    (history) => decide(command, fromStoredEvents(history).reduce(evolve, initialState())).map(toStoredEvent),
    { correlationId },
  );
  return handled.events.length > 0 ? handled.seq : null;
}

async function recordOutcome(
  deps: DeliveryDeps,
  subject: string,
  command: DeliveryCommand,
  { claimedSeq, channel, fields }: { claimedSeq: number; channel: DeliveryChannel; fields: LogFields },
): Promise<void> {
  const position = {
    state: { status: 'started', channel } as const,
    expectedSeq: claimedSeq,
    correlationId: fields.correlationId,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await decideOn(deps, subject, command, position);
      return;
    } catch (err) {
      const delay = OUTCOME_RETRY_DELAYS_MS[attempt];
      if (!(err instanceof StoreUnavailable) || delay === undefined) {
        // The message is out but its outcome is not recorded; the delivery stays taken on, so the
        // event coming again sends nothing more.
        deps.log.error({ ...fields, err: (err as Error).message }, 'outcome of a sent delivery not recorded');
        throw err;
      }
      await sleep(delay);
    }
  }
}

function repeated(deps: DeliveryDeps, fields: LogFields): void {
  deps.counters.repeated.inc();
  deps.log.info(fields, 'delivery already taken on; nothing sent');
}

function channelOf(medium: 'email' | 'msisdn' | null): DeliveryChannel {
  return medium === 'email' ? 'email' : medium === 'msisdn' ? 'sms' : 'unspecified';
}

import { type DataKeys, type RetryLater, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { TokenIssued } from '@tessera/proto/tessera/events/v1/session';
import { messageIdOf, newMessageId, TemplateRenderFailed, type Templates } from '@tessera/templates';
import type { LeaseDeps, LogFields } from './delivery-lease.js';
import { notTaken, refuseDelivery, sendAndRecord, takeOnToSend } from './delivery-steps.js';
import type { DeliveryChannel } from './domain/delivery.js';
import type { Mailer } from './email/smtp-mailer.js';
import { verificationLink } from './email/verification-link.js';
import type { NotifierCounters } from './metrics.js';
import { oneAtATime } from './one-at-a-time.js';
import type { SendOutcome } from './send-outcome.js';
import { openSession, type SessionSecrets, type UnusableSession } from './session-secrets.js';
import { smsBody } from './sms/sms-body.js';
import { type SmsProvider, SmsRefused, SmsUnavailable } from './sms/sms-provider.js';

export type DeliveryDeps = LeaseDeps & {
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
  counters: NotifierCounters;
  /** The deliveries this process is working on right now, by delivery id. */
  working: Map<string, Promise<unknown>>;
};

/** Where a TokenIssued came from: its session aggregate (`session.<sid>`), its decision's events, its correlation id. */
export type IssuedContext = {
  aggregate: string;
  issuedEventId: string;
  /** Every event of the decision the TokenIssued came in (usually with its SessionStarted). */
  decision: readonly Event[];
  correlationId: string;
};

/** A message ready to go: everything that may fail for good has failed before the delivery is taken on. */
type Prepared =
  | { channel: 'email'; mail: Parameters<Mailer['send']>[0] }
  | { channel: 'sms'; to: string; body: string };

/**
 * Delivers one TokenIssued, at least once:
 * 1. open the session's sealed fields and prepare the message (nothing recorded yet, so a failure
 *    that a later try may cure is simply retried when the event comes again);
 * 2. take the delivery on for a lease (DeliveryStarted on `tessera.delivery.<id>`); if another
 *    notifier holds a lease that still runs, answer "come back when it ends"; if that lease ran
 *    out without an outcome (its notifier died), take the delivery over; if it has an outcome,
 *    stop here;
 * 3. send, renewing the lease while the send runs, and record TokenSent or TokenSendFailed.
 * The caller acks the TokenIssued once this resolves without a retry: the outcome is recorded then.
 * A delivery that cannot be made at all (erased data, no such session, a broken template) is
 * recorded started and failed in one decision, with nothing sent. An imported token (sent by the
 * server its session came from) is passed over: no message, no delivery events.
 */
export async function deliverToken(
  deps: DeliveryDeps,
  issued: TokenIssued,
  context: IssuedContext,
): Promise<RetryLater | undefined> {
  // Imported with its session from another server, which sent it: nothing to send or record here.
  if (issued.imported) return undefined;
  return oneAtATime(deps.working, issued.deliveryId, () => deliver(deps, issued, context));
}

async function deliver(
  deps: DeliveryDeps,
  issued: TokenIssued,
  context: IssuedContext,
): Promise<RetryLater | undefined> {
  const { log, counters } = deps;
  const { deliveryId, sid } = issued;
  const subject = subjectOf('delivery', deliveryId);
  const { correlationId } = context;
  const fields: LogFields = { deliveryId, sid, correlationId };

  const opened = await openSession(deps, { ...context, issued });
  const prepared = opened.status === 'open' ? prepare(deps, issued, opened.secrets) : opened;
  if ('status' in prepared) {
    const channel = channelOf(prepared.medium);
    const refusal = await refuseDelivery(
      deps,
      subject,
      { deliveryId, source: context.aggregate, channel, reason: prepared.reason },
      fields,
    );
    if (refusal.status !== 'taken') return notTaken(deps, refusal, fields);
    counters.failed.inc({ channel, purpose: 'validation', refused: 'true' });
    log.warn({ ...fields, channel, reason: prepared.reason }, 'delivery given up before sending');
    return undefined;
  }

  const { channel } = prepared;
  const claim = await takeOnToSend(deps, subject, { deliveryId, source: context.aggregate, channel }, fields);
  if (claim.status !== 'taken') return notTaken(deps, claim, fields);

  const outcome = await sendAndRecord(deps, subject, { held: claim.held, fields }, () => send(deps, prepared));
  if (outcome.sent) {
    counters.sent.inc({ channel, purpose: 'validation' });
    log.info({ ...fields, channel, providerMessageId: outcome.providerMessageId }, 'validation message sent');
  } else {
    counters.failed.inc({ channel, purpose: 'validation', refused: String(outcome.refused) });
    log.warn({ ...fields, channel, reason: outcome.reason, refused: outcome.refused }, 'validation message not sent');
  }
  return undefined;
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
    // A template may leave the Message-ID out (a headerless one has none): record only what the mail carries.
    const carried = messageIdOf(raw) ?? '';
    return {
      channel: 'email',
      mail: { envelopeFrom: deps.envelopeFrom, to: secrets.address, raw, messageId: carried },
    };
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

function channelOf(medium: 'email' | 'msisdn' | null): DeliveryChannel {
  return medium === 'email' ? 'email' : medium === 'msisdn' ? 'sms' : 'unspecified';
}

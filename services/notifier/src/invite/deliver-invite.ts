import { type DataKeys, type EventStore, type RetryLater, subjectOf } from '@tessera/event-store';
import type { InviteStored } from '@tessera/proto/tessera/events/v1/invite';
import { inviteMailDataKey } from '@tessera/spec-params';
import { messageIdOf, newMessageId, TemplateRenderFailed, type Templates } from '@tessera/templates';
import type { LeaseDeps, LogFields } from '../delivery-lease.js';
import {
  type DeliveryOf,
  LEASE_MARGIN_MS,
  notTaken,
  refuseDelivery,
  sendAndRecord,
  takeOnToSend,
} from '../delivery-steps.js';
import type { Mailer, OutgoingMail } from '../email/smtp-mailer.js';
import type { NotifierCounters } from '../metrics.js';
import { oneAtATime } from '../one-at-a-time.js';
import { type InviteLetter, openInvite } from './invite-letter.js';

export type InviteMailDeps = LeaseDeps & {
  store: EventStore;
  dataKeys: DataKeys;
  templates: Templates;
  mailer: Mailer;
  /** TESSERA_EMAIL_FROM, and its bare address for MAIL FROM. */
  emailFrom: string;
  envelopeFrom: string;
  /** TESSERA_PUBLIC_BASE_URL: where the mail's sign-ed25519 link points. */
  publicBaseUrl: string;
  /** TESSERA_INVITE_WEB_CLIENT_LOCATION */
  defaultWebClientLocation: string;
  counters: NotifierCounters;
  /** The deliveries this process is working on right now, by delivery id. */
  working: Map<string, Promise<unknown>>;
};

const CHANNEL = 'email';
const PURPOSE = 'invite';
// The longest wait between two tries of an invite mail the mail server turned away for now.
const MAX_RETRY_MS = 3_600_000;

/**
 * When to try again after attempt `attempt` failed for now: the lease (which may have been renewed
 * just before the failure) doubled per attempt, capped at MAX_RETRY_MS but never before the lease
 * has run out, so that the next try takes the delivery over.
 */
export function inviteMailRetryMs(leaseMs: number, attempt: number): number {
  const backoff = Math.min(MAX_RETRY_MS, leaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(leaseMs, backoff) + LEASE_MARGIN_MS;
}

/**
 * Mails one stored invite, at least once, on the delivery aggregate `tessera.delivery.<invite_id>`
 * (source `invite.<invite_id>`), with the lease scheme of the validation mail:
 * 1. an invite that has expired or was revoked, whose sealed fields are gone, or whose mail does
 *    not render (any error: it would fail again), is given up (started and failed in one
 *    decision) with nothing sent;
 * 2. otherwise the delivery is taken on (or over, once another notifier's lease ran out; or it
 *    has its outcome already, and nothing is sent), the mail is sent under the lease, and
 *    TokenSent or TokenSendFailed (a refusal) is recorded;
 * 3. a failure the mail server may cure (a 4xx, no connection) records nothing: nobody but this
 *    notifier's retry will resend the invite, so the delivery stays started, its lease runs out,
 *    and the InviteStored comes back after a backoff (inviteMailRetryMs) to take it over with the
 *    next attempt, until it is mailed, refused, or the invite expires (step 1);
 * 4. once the outcome is recorded (by this call or an earlier one), the mail's data key
 *    `invite.<invite_id>:mail` is erased: the ephemeral private key can never be read again.
 * The caller acks the InviteStored once this resolves without a retry. An imported invite (Sydent
 * mailed it) is passed over: nothing is sent or recorded.
 */
export function deliverInvite(
  deps: InviteMailDeps,
  stored: InviteStored,
  correlationId: string,
): Promise<RetryLater | undefined> {
  // Imported from Sydent, which mailed it: nothing to send, no delivery to record.
  if (stored.imported) return Promise.resolve(undefined);
  return oneAtATime(deps.working, stored.inviteId, () => deliver(deps, stored, correlationId));
}

async function deliver(
  deps: InviteMailDeps,
  stored: InviteStored,
  correlationId: string,
): Promise<RetryLater | undefined> {
  const { log, counters } = deps;
  const { inviteId } = stored;
  const subject = subjectOf('delivery', inviteId);
  const fields: LogFields = { deliveryId: inviteId, correlationId };
  const delivery: DeliveryOf = { deliveryId: inviteId, source: `invite.${inviteId}`, channel: CHANNEL };
  const eraseMailKey = () => deps.dataKeys.erase(inviteMailDataKey(inviteId));

  const prepared = await prepare(deps, stored);
  if ('reason' in prepared) {
    const refusal = await refuseDelivery(deps, subject, { ...delivery, reason: prepared.reason }, fields);
    if (refusal.status === 'leased') return notTaken(deps, refusal, fields);
    await eraseMailKey();
    if (refusal.status === 'finished') return notTaken(deps, refusal, fields);
    counters.failed.inc({ channel: CHANNEL, purpose: PURPOSE, refused: 'true' });
    log.warn({ ...fields, reason: prepared.reason }, 'invite mail given up before sending');
    return undefined;
  }

  const claim = await takeOnToSend(deps, subject, delivery, fields);
  if (claim.status === 'leased') return notTaken(deps, claim, fields);
  if (claim.status === 'finished') {
    // Recorded by a notifier that died before it erased the key: erase it now.
    await eraseMailKey();
    return notTaken(deps, claim, fields);
  }
  const { held } = claim;
  const outcome = await sendAndRecord(deps, subject, { held, fields, holdOnTemporaryFailure: true }, () =>
    deps.mailer.send(prepared),
  );
  if (!outcome.sent && !outcome.refused) {
    const retryInMs = inviteMailRetryMs(deps.leaseMs, held.attempt);
    counters.failed.inc({ channel: CHANNEL, purpose: PURPOSE, refused: 'false' });
    log.warn(
      { ...fields, reason: outcome.reason, attempt: held.attempt, retryInMs },
      'invite mail not sent; will retry',
    );
    return { retryInMs };
  }
  await eraseMailKey();
  if (outcome.sent) {
    counters.sent.inc({ channel: CHANNEL, purpose: PURPOSE });
    log.info({ ...fields, providerMessageId: outcome.providerMessageId }, 'invite mail sent');
  } else {
    counters.failed.inc({ channel: CHANNEL, purpose: PURPOSE, refused: 'true' });
    log.warn({ ...fields, reason: outcome.reason }, 'invite mail refused by the mail server');
  }
  return undefined;
}

/** The mail to send, or why none will ever be sent (a reason that names no address, token or key). */
async function prepare(deps: InviteMailDeps, stored: InviteStored): Promise<OutgoingMail | { reason: string }> {
  const now = deps.now();
  if (stored.expiresAt !== undefined && stored.expiresAt.getTime() <= now.getTime())
    return { reason: 'the invite expired' };
  if (await isRevoked(deps.store, stored.inviteId)) return { reason: 'the invite was revoked' };
  const opened = await openInvite(deps.dataKeys, stored);
  if (opened.status !== 'open') return { reason: opened.reason };
  try {
    const raw = render(deps, stored, opened.letter, now);
    // A template may leave the Message-ID out: record only what the mail carries.
    return { envelopeFrom: deps.envelopeFrom, to: opened.letter.address, raw, messageId: messageIdOf(raw) ?? '' };
  } catch (err) {
    // Rendering reads nothing from outside: whatever fails (the template, or a value no template
    // can carry) fails the same way every time. Give the mail up rather than redeliver it for ever.
    // Only our own error's message is logged: another's might quote a value.
    const logged = err instanceof TemplateRenderFailed ? err.message : ((err as Error)?.name ?? 'error');
    deps.log.error({ deliveryId: stored.inviteId, err: logged }, 'invite mail template failed');
    return { reason: 'the mail template failed to render' };
  }
}

function render(deps: InviteMailDeps, stored: InviteStored, letter: InviteLetter, now: Date): string {
  return deps.templates.renderInviteEmail(stored.brand || undefined, {
    to: letter.address,
    from: deps.emailFrom,
    date: now,
    messageid: newMessageId(deps.emailFrom),
    token: letter.token,
    ephemeral_private_key: letter.ephemeralPrivateKey,
    room_id: letter.roomId,
    sender: letter.sender,
    address: letter.address,
    requestFields: letter.requestFields,
    defaultWebClientLocation: deps.defaultWebClientLocation,
    publicBaseUrl: deps.publicBaseUrl,
    // Named as verified only when store-invite checked the sender against an access token (v2).
    verifiedSender: letter.senderVerified ? letter.sender : null,
  });
}

/** Whether an operator revoked the invite (InviteRevoked on `tessera.invite.<invite_id>`). */
async function isRevoked(store: EventStore, inviteId: string): Promise<boolean> {
  const { events } = await store.load(subjectOf('invite', inviteId));
  return events.some((event) => event.payload?.$case === 'inviteRevoked');
}

import { DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { DURABLES } from '@tessera/nats-access';
import type { ServiceContext } from '@tessera/service-kit';
import type { Templates } from '@tessera/templates';
import type { NatsConnection } from 'nats';
import { eachDelivery, runDeliveryConsumer } from '../delivery-consumer.js';
import type { Mailer } from '../email/smtp-mailer.js';
import { createNotifierCounters } from '../metrics.js';
import type { EmailSettings } from '../settings.js';
import { deliverInvite, type InviteMailDeps } from './deliver-invite.js';

/** Its durable consumer: the name its NATS permissions allow (one table, in nats-access). */
export const INVITES_DURABLE = DURABLES.notifierInvites;
const STREAM = 'TESSERA_EVENTS';
const INVITE_SUBJECTS = 'tessera.invite.>';
// A mail the mail server turned away for now waits for its next try unacknowledged on the server
// (a nak with a delay, up to an hour): this bounds the mails waiting at once, not only those in
// progress, so that a few greylisted recipients do not hold up every other invite.
const MAX_MAILS_PENDING = 10_000;

export type StartInviteMailOptions = Pick<
  ServiceContext<undefined, NatsConnection>,
  'config' | 'log' | 'nc' | 'metrics'
> & {
  email: EmailSettings;
  templates: Templates;
  /** The caller's, and the caller's to close. */
  mailer: Mailer;
  dataKeys?: DataKeys;
  now?: () => Date;
  durable?: string;
};

export type RunningInviteMail = {
  /** Stops taking invites and lets the mails in progress finish (bounded). */
  stop(): Promise<void>;
  /** False while its consumer is gone (deleted, its stream missing): /readyz. */
  isReady(): boolean;
};

/**
 * Consumes InviteStored from TESSERA_EVENTS (`tessera.invite.>`, durable `notifier-invites`) and
 * mails each invite, at least once, recording the outcome on `tessera.delivery.<invite_id>`; an
 * InviteStored is acked once its outcome is recorded and its mail key erased.
 */
export async function startInviteMail(options: StartInviteMailOptions): Promise<RunningInviteMail> {
  const { config, log, nc, email, templates, mailer, durable = INVITES_DURABLE } = options;
  const concurrency = config.TESSERA_NOTIFIER_CONCURRENCY;
  const leaseMs = config.TESSERA_DELIVERY_LEASE_MS;
  const deps: InviteMailDeps = {
    store: new EventStore(nc),
    leaseMs,
    working: new Map(),
    dataKeys: options.dataKeys ?? new DataKeys(await openDataKeySource(nc)),
    templates,
    mailer,
    emailFrom: email.emailFrom,
    envelopeFrom: email.envelopeFrom,
    publicBaseUrl: config.TESSERA_PUBLIC_BASE_URL,
    defaultWebClientLocation: config.TESSERA_INVITE_WEB_CLIENT_LOCATION,
    now: options.now ?? (() => new Date()),
    log,
    counters: createNotifierCounters(options.metrics),
  };

  const handler = eachDelivery(
    'inviteStored',
    (stored, _event, { envelope }) => deliverInvite(deps, stored, envelope.correlationId),
    (_stored, err) => log.error({ err: err.message }, 'InviteStored with an unusable invite id skipped'),
  );
  const consumer = await runDeliveryConsumer(nc, {
    config,
    stream: STREAM,
    durable,
    filterSubject: INVITE_SUBJECTS,
    eventType: 'InviteStored',
    maxAckPending: MAX_MAILS_PENDING,
    log,
    metrics: options.metrics,
    handler,
  });
  log.info({ durable, concurrency, leaseMs }, 'notifier consuming InviteStored');
  return { isReady: () => consumer.attached(), stop: () => consumer.stop() };
}

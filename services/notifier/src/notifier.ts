import { DataKeys, EventStore, openDataKeySource, parseSubject } from '@tessera/event-store';
import { DURABLES } from '@tessera/nats-access';
import type { ServiceContext } from '@tessera/service-kit';
import type { Templates } from '@tessera/templates';
import type { NatsConnection } from 'nats';
import { type DeliveryDeps, deliverToken } from './deliver-token.js';
import { eachDelivery, runDeliveryConsumer } from './delivery-consumer.js';
import { createSmtpMailer, type Mailer } from './email/smtp-mailer.js';
import { createNotifierCounters } from './metrics.js';
import type { EmailSettings } from './settings.js';
import { SMS_BODY_TEMPLATE } from './sms/sms-body.js';
import type { SmsProvider } from './sms/sms-provider.js';

/** Its durable consumer: the name its NATS permissions allow (one table, in nats-access). */
export const TOKENS_DURABLE = DURABLES.notifierTokens;
const STREAM = 'TESSERA_SHORT';
const SESSION_SUBJECTS = 'tessera.session.>';

/**
 * What the service skeleton gives it (service-kit's ServiceContext: TESSERA_PUBLIC_BASE_URL,
 * TESSERA_DELIVERY_LEASE_MS and TESSERA_NOTIFIER_CONCURRENCY come from `config`), and its settings,
 * read before anything opened.
 */
export type StartNotifierOptions = Pick<
  ServiceContext<undefined, NatsConnection>,
  'config' | 'log' | 'nc' | 'metrics'
> & {
  email: EmailSettings;
  templates: Templates;
  sms: SmsProvider;
  /** Made from `email` when absent, and then closed by stop(); one passed in is the caller's to close. */
  mailer?: Mailer;
  dataKeys?: DataKeys;
  now?: () => Date;
  durable?: string;
  /** The SMS text; `{token}` stands for the token. */
  smsBodyTemplate?: string;
};

export type RunningNotifier = {
  /** Stops taking deliveries, lets those in progress finish (bounded), closes the SMTP connections. */
  stop(): Promise<void>;
  /** False while its consumer is gone (deleted, its stream missing): /readyz. */
  isReady(): boolean;
};

/**
 * Consumes TokenIssued from TESSERA_SHORT (`tessera.session.>`, durable `notifier-tokens`) and
 * delivers each token by mail or SMS, at least once, recording the outcome on
 * `tessera.delivery.<id>`. A TokenIssued is acked once its delivery's outcome is recorded.
 */
export async function startNotifier(options: StartNotifierOptions): Promise<RunningNotifier> {
  const { config, log, nc, email, templates, sms, durable = TOKENS_DURABLE } = options;
  // Deliveries in progress at once: each waits on the store, the mail server or the SMS API most of
  // its time, so many in parallel are what lets one notifier send hundreds a second; order does not
  // matter between deliveries.
  const concurrency = config.TESSERA_NOTIFIER_CONCURRENCY;
  const mailer =
    options.mailer ?? createSmtpMailer(email.smtpUrl, { maxConnections: config.TESSERA_SMTP_MAX_CONNECTIONS });
  const leaseMs = config.TESSERA_DELIVERY_LEASE_MS;
  const deps: DeliveryDeps = {
    store: new EventStore(nc),
    leaseMs,
    working: new Map(),
    dataKeys: options.dataKeys ?? new DataKeys(await openDataKeySource(nc)),
    templates,
    mailer,
    sms,
    emailFrom: email.emailFrom,
    envelopeFrom: email.envelopeFrom,
    publicBaseUrl: config.TESSERA_PUBLIC_BASE_URL,
    smsBodyTemplate: options.smsBodyTemplate ?? SMS_BODY_TEMPLATE,
    now: options.now ?? (() => new Date()),
    log,
    counters: createNotifierCounters(options.metrics),
  };

  const handler = eachDelivery(
    'tokenIssued',
    (issued, event, { subject, envelope }) =>
      deliverToken(deps, issued, {
        aggregate: parseSubject(subject).aggregate,
        issuedEventId: event.eventId,
        decision: envelope.events,
        correlationId: envelope.correlationId,
      }),
    (issued, err) =>
      log.error({ sid: issued.sid, err: err.message }, 'TokenIssued with an unusable delivery id skipped'),
  );
  const consumer = await runDeliveryConsumer(nc, {
    config,
    stream: STREAM,
    durable,
    filterSubject: SESSION_SUBJECTS,
    eventType: 'TokenIssued',
    log,
    metrics: options.metrics,
    handler,
  });
  log.info({ durable, concurrency, leaseMs }, 'notifier consuming TokenIssued');

  return {
    isReady: () => consumer.attached(),
    async stop() {
      await consumer.stop();
      if (options.mailer === undefined) mailer.close();
    },
  };
}

// The invite-mail consumer on a real nats-server and SMTP listener, as its integration tests run it.
import { loadConfig } from '@tessera/config';
import { connectNats, DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { createLogger, createMetrics, type Metrics } from '@tessera/service-kit';
import { createTemplates } from '@tessera/templates';
import {
  captureLogs,
  type LogLine,
  type ReceivedMail,
  startNats,
  startSmtpServer,
  type TestSmtpOptions,
  type TestSmtpServer,
} from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { createSmtpMailer } from '../src/email/smtp-mailer.js';
import { INVITES_DURABLE, type RunningInviteMail, startInviteMail } from '../src/invite/start-invite-mail.js';
import { readEmailSettings } from '../src/settings.js';
import { deliveryProbes } from './delivery-probes.js';

export const INVITE_MAIL_BASE_URL = 'https://id.example.org';

export type InviteMailBed = {
  nc: NatsConnection;
  store: EventStore;
  dataKeys: DataKeys;
  smtp: TestSmtpServer;
  metrics: Metrics;
  /** Everything the consumer logged, at debug and above. */
  logLines: LogLine[];
  probes: ReturnType<typeof deliveryProbes>;
  /** The mails the listener took for `address`. */
  mailsTo(address: string): ReceivedMail[];
  /** Starts the consumer (again, after stop). */
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
};

/** Provisions a fresh nats-server, starts an SMTP listener (`smtp` options) and the consumer with `env` over the defaults. */
export async function startInviteMailBed(
  options: { smtp?: TestSmtpOptions; env?: Record<string, string> } = {},
): Promise<InviteMailBed> {
  const nats = await startNats();
  const nc = await connectNats({ url: nats.url, name: 'invite-mail-test' });
  await provision(nc);
  const store = new EventStore(nc);
  const smtp = await startSmtpServer(options.smtp);
  const mailer = createSmtpMailer(smtp.url);
  const metrics = createMetrics('notifier');
  const { log, lines: logLines } = captureLogs((destination) => createLogger('notifier', 'debug', destination));
  const config = loadConfig({
    TESSERA_NATS_URL: nats.url,
    TESSERA_SMTP_URL: smtp.url,
    TESSERA_PUBLIC_BASE_URL: INVITE_MAIL_BASE_URL,
    TESSERA_EMAIL_FROM: 'Tessera <noreply@id.example.org>',
    TESSERA_INVITE_WEB_CLIENT_LOCATION: 'https://chat.example.net',
    TESSERA_NOTIFIER_CONCURRENCY: '4',
    ...options.env,
  });
  const templates = createTemplates({ defaultBrand: 'tessera', require: ['inviteEmail'] });
  const email = readEmailSettings(config);
  let running: RunningInviteMail | undefined;
  const stop = async () => {
    await running?.stop();
    running = undefined;
  };
  const bed: InviteMailBed = {
    nc,
    store,
    dataKeys: new DataKeys(await openDataKeySource(nc)),
    smtp,
    metrics,
    logLines,
    probes: deliveryProbes({ nc, store }, { stream: 'TESSERA_EVENTS', durable: INVITES_DURABLE }),
    mailsTo: (address) => smtp.messages.filter((mail) => mail.to.includes(address)),
    async start() {
      running = await startInviteMail({ config, log, nc, metrics, email, templates, mailer });
    },
    stop,
    async close() {
      await stop();
      mailer.close();
      await nc.close();
      await nats.stop();
      await smtp.close();
    },
  };
  await bed.start();
  return bed;
}

import { runService } from '@tessera/service-kit';
import { loadTemplatesFromConfig } from '@tessera/templates';
import { createSmtpMailer } from './email/smtp-mailer.js';
import { startInviteMail } from './invite/start-invite-mail.js';
import { startNotifier } from './notifier.js';
import { startOnbindDelivery } from './onbind/start-onbind-delivery.js';
import { readNotifierSettings } from './settings.js';

runService('notifier', {
  nats: true,
  settings: (config) => ({
    ...readNotifierSettings(config),
    templates: loadTemplatesFromConfig(config, { require: ['inviteEmail'] }),
  }),
  start: async ({ config, log, nc, metrics, settings, addReadiness, onStop }) => {
    const mailer = createSmtpMailer(settings.email.smtpUrl, { maxConnections: config.TESSERA_SMTP_MAX_CONNECTIONS });
    onStop({ name: 'SMTP connections', run: async () => mailer.close() });
    const notifier = await startNotifier({ config, log, nc, metrics, ...settings, mailer });
    // Ready while its consumer is attached: one whose consumer or stream is gone delivers nothing.
    addReadiness({ name: 'consumer', isReady: notifier.isReady });
    const onbind = await startOnbindDelivery({ config, log, nc, metrics });
    onStop({ name: 'onbind consumer', run: () => onbind.stop() });
    addReadiness({ name: 'onbind consumer', isReady: onbind.isReady });
    const invites = await startInviteMail({ config, log, nc, metrics, ...settings, mailer });
    onStop({ name: 'invite mail consumer', run: () => invites.stop() });
    addReadiness({ name: 'invite mail consumer', isReady: invites.isReady });
    // The three consumers stop together: one after the other, each waiting for its deliveries in
    // progress (a few seconds at most), would outlast the exit deadline. Their onStop steps, for
    // a start that fails half-way, find them stopped already.
    return {
      name: 'consumers',
      run: async () => {
        await Promise.all([notifier.stop(), onbind.stop(), invites.stop()]);
      },
    };
  },
});

import { type Config, ConfigError } from '@tessera/config';
import { runService } from '@tessera/service-kit';
import { createTemplates, type Templates, TemplatesUnusable } from '@tessera/templates';
import { createSmtpMailer } from './email/smtp-mailer.js';
import { startNotifier } from './notifier.js';
import { readNotifierSettings } from './settings.js';

runService('notifier', {
  nats: true,
  settings: (config) => ({ ...readNotifierSettings(config), templates: loadTemplates(config) }),
  start: async ({ config, log, nc, metrics, settings, addReadiness, onStop }) => {
    const mailer = createSmtpMailer(settings.email.smtpUrl, { maxConnections: config.TESSERA_SMTP_MAX_CONNECTIONS });
    onStop({ name: 'SMTP connections', run: async () => mailer.close() });
    const notifier = await startNotifier({ config, log, nc, metrics, ...settings, mailer });
    // Ready while its consumer is attached: one whose consumer or stream is gone delivers nothing.
    addReadiness({ name: 'consumer', isReady: notifier.isReady });
    return { name: 'consumer', run: () => notifier.stop() };
  },
});

/** A templates directory without the default brand's templates, or with a broken one, is a configuration error. */
function loadTemplates(config: Config): Templates {
  try {
    return createTemplates({ dir: config.TESSERA_TEMPLATES_DIR, defaultBrand: config.TESSERA_DEFAULT_BRAND });
  } catch (err) {
    if (!(err instanceof TemplatesUnusable)) throw err;
    throw new ConfigError(`TESSERA_TEMPLATES_DIR / TESSERA_DEFAULT_BRAND: ${err.message}`);
  }
}

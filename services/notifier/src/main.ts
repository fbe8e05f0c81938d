import { type Config, ConfigError } from '@tessera/config';
import { connectAs, natsAccessOf, natsReadiness } from '@tessera/nats-access';
import {
  createMetrics,
  metricsListenAddress,
  notStarted,
  onShutdown,
  type ReadinessReport,
  readinessOf,
  runService,
  startAdminServer,
} from '@tessera/service-kit';
import { createTemplates, type Templates, TemplatesUnusable } from '@tessera/templates';
import { createSmtpMailer } from './email/smtp-mailer.js';
import { startNotifier } from './notifier.js';
import { readEmailSettings } from './settings.js';
import { createSmsProvider } from './sms/create-sms-provider.js';

runService('notifier', async ({ config, log }) => {
  // Every setting is checked before anything is opened: a bad one stops the start with its name.
  const nats = natsAccessOf(config, 'notifier');
  const settings = readEmailSettings(config);
  const templates = loadTemplates(config);
  const sms = createSmsProvider(config);

  const metrics = createMetrics('notifier');
  let readiness: () => ReadinessReport = notStarted;
  const admin = await startAdminServer(metricsListenAddress(config, 'notifier'), metrics.registry, () => readiness());
  log.info({ port: admin.port }, 'admin server listening (/metrics, /healthz, /readyz)');

  const nc = await connectAs(nats, log);
  const mailer = createSmtpMailer(settings.smtpUrl, { maxConnections: config.TESSERA_SMTP_MAX_CONNECTIONS });
  const notifier = await startNotifier({ config, log, nc, metrics, templates, mailer, sms });
  // Ready while connected and its consumer is attached: one whose consumer or stream is gone delivers nothing.
  readiness = readinessOf([natsReadiness(nc), { name: 'consumer', isReady: notifier.isReady }]);

  onShutdown(log, [
    { name: 'consumer', run: () => notifier.stop() },
    { name: 'SMTP connections', run: async () => mailer.close() },
    { name: 'NATS', run: () => nc.drain() },
    { name: 'admin server', run: () => admin.close() },
  ]);
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

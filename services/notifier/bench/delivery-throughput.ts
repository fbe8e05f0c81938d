// Deliveries per second through one notifier, against a throwaway nats-server (sync_interval:
// always) and the harness SMTP listener, which runs in this same process and parses every mail
// (so this is a floor, not a ceiling). Run on demand, after `pnpm build`:
//   pnpm --filter @tessera/notifier bench [mails per run] [SMTP delay ms]
// Prints a table: one row per concurrency.
import { loadConfig } from '@tessera/config';
import { connectNats, DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { createLogger, createMetrics } from '@tessera/service-kit';
import { createTemplates } from '@tessera/templates';
import { startNats, startSmtpServer } from '@tessera/test-harness';
import { startNotifier } from '../src/notifier.js';
import { readNotifierSettings } from '../src/settings.js';
import { requestToken } from '../test-support/session-fixture.js';

const count = Number(process.argv[2] ?? 1_000);
const smtpDelayMs = Number(process.argv[3] ?? 0);
const nats = await startNats();
const nc = await connectNats({ url: nats.url, name: 'bench' });
await provision(nc);
const store = new EventStore(nc);
const dataKeys = new DataKeys(await openDataKeySource(nc));
const smtp = await startSmtpServer({ delayMs: smtpDelayMs });
const config = loadConfig({ TESSERA_NATS_URL: nats.url, TESSERA_SMTP_URL: smtp.url });
const log = createLogger('notifier', 'warn');
const metrics = createMetrics('notifier');
const templates = createTemplates({ defaultBrand: config.TESSERA_DEFAULT_BRAND });

type Row = { concurrency: number; mails: number; smtpDelayMs: number; seconds: number; perSecond: number };
const rows: Row[] = [];

for (const [run, concurrency] of [1, 4, 16, 32].entries()) {
  // Sessions first, so that the run measures the notifier alone.
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++)
    batch.push(requestToken({ store, dataKeys }, { medium: 'email', address: `bench-${run}-${i}@example.org` }));
  await Promise.all(batch);
  smtp.clear();
  const started = performance.now();
  const notifier = await startNotifier({
    config: { ...config, TESSERA_NOTIFIER_CONCURRENCY: concurrency },
    log,
    nc,
    metrics,
    ...readNotifierSettings(config),
    templates,
    durable: `bench-${run}`,
  });
  await smtp.waitForMessage(() => smtp.messages.length >= count, 600_000);
  const seconds = (performance.now() - started) / 1_000;
  await notifier.stop();
  rows.push({
    concurrency,
    mails: count,
    smtpDelayMs,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(count / seconds),
  });
  // Later runs start a new durable consumer, which must not find these sessions: skip them.
  await (await nc.jetstreamManager()).streams.purge('TESSERA_SHORT', { filter: 'tessera.session.>' });
}

console.table(rows);
await nc.close();
await smtp.close();
await nats.stop();

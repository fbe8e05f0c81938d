import { type Config, loadConfig } from '@tessera/config';
import { redactUrl } from '@tessera/event-store';
import {
  connectAsAdmin,
  natsCredentials,
  provision,
  provisionSettingsOf,
  readSyncPolicy,
  unsafeSyncReason,
} from '@tessera/nats-access';
import type { CliIo } from './cli.js';
import { UsageError, withIdentityHint } from './cli.js';

const ALLOW_LAZY_FSYNC = '--allow-lazy-fsync';

/**
 * `tessera provision`: creates or updates every stream and bucket, as the admin identity. The one
 * step that may change them: an operator runs it before a deployment or an upgrade (in Kubernetes,
 * a Job), the local runner before it starts the services. First it checks that every NATS server
 * fsyncs each write (see checkSyncAlways).
 */
export async function provisionCommand(args: string[], { env, out, err }: CliIo): Promise<number> {
  const allowLazyFsync = args.includes(ALLOW_LAZY_FSYNC);
  const unknown = args.filter((arg) => arg !== ALLOW_LAZY_FSYNC);
  if (unknown.length > 0) throw new UsageError(`provision takes only ${ALLOW_LAZY_FSYNC} (got ${unknown.join(' ')})`);
  const config = loadConfig(env);
  const url = config.TESSERA_NATS_URL;
  if (url === undefined)
    throw new UsageError('set TESSERA_NATS_URL (and TESSERA_NATS_CREDENTIALS_FILE: the admin identity)');
  const authenticator = natsCredentials(config, 'admin');
  const settings = provisionSettingsOf(config);
  await checkSyncAlways(config, allowLazyFsync, { out, err });
  const nc = await connectAsAdmin(url, authenticator, 'tessera-provision');
  try {
    const done = await provision(nc, settings);
    out.write(`provisioned ${redactUrl(url)} (replicas ${settings.replicas}):\n`);
    for (const { kind, name, action } of done) out.write(`  ${kind.padEnd(6)} ${name.padEnd(22)} ${action}\n`);
    return 0;
  } catch (err) {
    throw withIdentityHint(err, 'provisioning needs the admin identity');
  } finally {
    await nc.close().catch(() => {});
  }
}

/**
 * Refuses, before anything changes, to provision a cluster in which a server acknowledges JetStream
 * writes before they are on disk (sync_interval other than `always`, NATS's default): the stream is
 * the source of truth, and such a server loses acknowledged events when its machine crashes.
 * Provisioning runs before every deployment, so the refusal stops a rollout before any service
 * writes. `--allow-lazy-fsync` turns the refusal into a warning, for throwaway clusters.
 */
async function checkSyncAlways(
  config: Config,
  allowLazyFsync: boolean,
  { out, err }: Pick<CliIo, 'out' | 'err'>,
): Promise<void> {
  const monitors = config.TESSERA_NATS_MONITOR_URLS;
  if (monitors.length === 0) {
    err.write('warning: sync_interval not checked: TESSERA_NATS_MONITOR_URLS names no NATS monitoring endpoint\n');
    return;
  }
  const policies = await Promise.all(monitors.map((monitor) => readSyncPolicy(monitor)));
  const unsafe = policies.map(unsafeSyncReason).filter((reason) => reason !== null);
  if (unsafe.length === 0) {
    out.write(`every NATS server fsyncs each write (sync_interval: always): ${monitors.join(', ')}\n`);
    return;
  }
  const problem = `acknowledged events would be lost on a machine crash: ${unsafe.join('; ')}`;
  if (!allowLazyFsync)
    throw new Error(
      `${problem}. Set jetstream { sync_interval: always } on every server, or pass ${ALLOW_LAZY_FSYNC} (throwaway clusters only)`,
    );
  err.write(`warning: ${problem} (${ALLOW_LAZY_FSYNC})\n`);
}

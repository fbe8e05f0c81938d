import { loadConfig } from '@tessera/config';
import { redactUrl } from '@tessera/event-store';
import { connectAsAdmin, natsCredentials, provision, provisionSettingsOf } from '@tessera/nats-access';
import type { CliIo } from './cli.js';
import { UsageError, withIdentityHint } from './cli.js';

/**
 * `tessera provision`: creates or updates every stream and bucket, as the admin identity. The one
 * step that may change them: an operator runs it before a deployment or an upgrade (in Kubernetes,
 * a Job), the local runner before it starts the services.
 */
export async function provisionCommand(args: string[], { env, out }: CliIo): Promise<number> {
  if (args.length > 0) throw new UsageError(`provision takes no arguments (got ${args.join(' ')})`);
  const config = loadConfig(env);
  const url = config.TESSERA_NATS_URL;
  if (url === undefined)
    throw new UsageError('set TESSERA_NATS_URL (and TESSERA_NATS_CREDENTIALS_FILE: the admin identity)');
  const authenticator = natsCredentials(config, 'admin');
  const settings = provisionSettingsOf(config);
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

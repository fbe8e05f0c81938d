import { loadConfig } from '@tessera/config';
import { databaseSettingsOf } from '@tessera/db';
import { inboxPrefixOf, redactUrl } from '@tessera/event-store';
import { natsCredentials } from '@tessera/nats-access';
import { rebuildAssociations } from '@tessera/projector';
import { connect } from 'nats';
import type { CliIo } from './cli.js';
import { UsageError, withIdentityHint } from './cli.js';

/**
 * `tessera projector rebuild`: empties the read model (association, lookup_pepper, lookup_hash,
 * invite, onbind) and replays TESSERA_EVENTS into it, under the projector's lock: an active projector is asked to
 * do it, otherwise this command does it itself (standbys wait). Runs as the projector identity,
 * which reads the stream with the projector's durable and opens the bindings' data keys.
 */
export async function projectorCommand(args: string[], { env, out }: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'rebuild') throw new UsageError(`projector takes "rebuild" (got ${JSON.stringify(action ?? '')})`);
  if (rest.length > 0) throw new UsageError(`projector rebuild: unexpected ${JSON.stringify(rest[0])}`);
  const config = loadConfig(env);
  const database = databaseSettingsOf(config, 'by projector rebuild');
  const url = config.TESSERA_NATS_URL;
  if (url === undefined)
    throw new UsageError('set TESSERA_NATS_URL (and TESSERA_NATS_CREDENTIALS_FILE: the projector identity)');
  const authenticator = natsCredentials(config, 'projector');
  const nc = await connect({
    servers: url,
    name: 'tessera-projector-rebuild',
    inboxPrefix: inboxPrefixOf('projector'),
    maxReconnectAttempts: 0,
    ...(authenticator && { authenticator }),
  });
  const say = (line: string) => void out.write(`${line}\n`);
  const log = {
    info: (_: object, msg: string) => say(msg),
    warn: (_: object, msg: string) => say(msg),
    error: (_: object, msg: string) => say(msg),
  };
  try {
    const outcome = await rebuildAssociations({ nc, database, log });
    say(
      `rebuilt the associations read model on ${redactUrl(database.url)} from ${redactUrl(url)}: replayed by ` +
        `${outcome.by} up to stream sequence ${outcome.upTo} in ${outcome.seconds} s`,
    );
    return 0;
  } catch (err) {
    throw withIdentityHint(err, 'rebuilding needs the projector identity');
  } finally {
    await nc.close().catch(() => {});
  }
}

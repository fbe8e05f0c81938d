import { loadConfig } from '@tessera/config';
import { ADMIN_PATHS } from '@tessera/invite';
import { adminEndpointOf, postAdmin, splitFlags } from './admin-endpoint.js';
import type { CliIo } from './cli.js';
import { UsageError } from './cli.js';

const USAGE = 'invite takes "revoke --token <token>" or "revoke <medium> <address>"';

/**
 * `tessera invite …`: the invite service's admin API (see ../../services/invite/src/admin) from
 * the command line, found as the directory's is (`--admin-url`, TESSERA_INVITE_ADMIN_LISTEN, or
 * the local runner's state file); TESSERA_INVITE_ADMIN_TOKEN_FILE is its token.
 */
export async function inviteCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, adminUrl, flags } = splitFlags(args, 'invite', ['token']);
  const [action, ...rest] = positional;
  if (action !== 'revoke') throw new UsageError(`${USAGE} (got ${JSON.stringify(action ?? '')})`);
  const byToken = flags.token !== undefined;
  if (byToken ? rest.length !== 0 : rest.length !== 2) throw new UsageError(USAGE);
  const [medium, address] = rest;
  const body = byToken ? { token: flags.token } : { medium, address };
  const endpoint = adminEndpointOf('invite', loadConfig(io.env), adminUrl);
  const { revoked } = (await postAdmin(endpoint, ADMIN_PATHS.revoke, body)) as { revoked: number };
  io.out.write(
    `revoked ${revoked} pending invite${revoked === 1 ? '' : 's'}: never delivered, their ephemeral keys no ` +
      'longer valid, their sealed data erased (one already handed to an onbind call is not revoked)\n',
  );
  return 0;
}

import { resolve } from 'node:path';
import { authorizationConfig, ensureIdentityFiles } from '@tessera/nats-access';
import type { CliIo } from './cli.js';
import { UsageError } from './cli.js';

/**
 * `tessera nats-identities <dir>`: one nkey per identity (admin, each service, analytics) in
 * `<dir>`, kept if there already, and on standard output the `authorization` block for
 * nats-server.conf with each identity's permissions. The seeds stay in `<dir>`: hand each service
 * its own file (TESSERA_NATS_CREDENTIALS_FILE), admin's to provisioning only.
 */
export async function natsIdentitiesCommand(args: string[], { out, err }: CliIo): Promise<number> {
  if (args.length !== 1 || args[0] === undefined || args[0].startsWith('-'))
    throw new UsageError('nats-identities takes one argument: the directory of the seed files');
  const dir = resolve(args[0]);
  const files = await ensureIdentityFiles(dir);
  out.write(`# nats-server authorization for Tessera's identities; seeds in ${dir}\n`);
  out.write(authorizationConfig(files));
  err.write(`${files.length} identities in ${dir}: ${files.map((file) => file.identity).join(', ')}\n`);
  return 0;
}

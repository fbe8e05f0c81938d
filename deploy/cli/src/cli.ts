import { ConfigError } from '@tessera/config';
import { ErrorCode, NatsError } from 'nats';
import { directoryCommand } from './directory-command.js';
import { IMPORT_USAGE, importCommand } from './import-command.js';
import { inviteCommand } from './invite-command.js';
import { keysCommand } from './keys-command.js';
import { natsIdentitiesCommand } from './nats-identities-command.js';
import { projectorCommand } from './projector-command.js';
import { provisionCommand } from './provision-command.js';

export type CliIo = { env: NodeJS.ProcessEnv; out: NodeJS.WritableStream; err: NodeJS.WritableStream };

const EXIT_USAGE = 64; // EX_USAGE
const EXIT_CONFIG = 78; // EX_CONFIG

const USAGE = `usage: tessera <command>

commands:
  provision [--allow-lazy-fsync]
                         create or update the NATS streams and buckets (as the admin identity:
                         TESSERA_NATS_URL, TESSERA_NATS_CREDENTIALS_FILE, TESSERA_NATS_REPLICAS,
                         TESSERA_RATE_LIMIT_*); safe to run again. First reads /varz of every
                         server in TESSERA_NATS_MONITOR_URLS and refuses one whose JetStream does
                         not fsync every write (sync_interval: always); the flag only warns
  nats-identities <dir>  make an nkey seed per identity in <dir> (0600; existing ones kept) and
                         print the nats-server authorization block that admits them
  keys revoke <keyId> --reason <text>
                         revoke a signing key (as the signing identity: TESSERA_NATS_URL,
                         TESSERA_NATS_CREDENTIALS_FILE); signing stops signing with it and every
                         gateway and signing stop vouching for it within a second; no restart
  projector rebuild      empty the associations read model and replay the event stream into it
                         (as the projector identity, with TESSERA_DATABASE_URL); an active
                         projector is asked to do it, otherwise the command does it itself
  directory import <file.jsonl>
                         bind every {"medium","address","mxid"[,"ts"]} line through the event path;
                         prints progress, then how many were imported and each failed line
  directory bind <medium> <address> <mxid>
                         bind (replacing another's binding); prints the signed association
  directory unbind <medium> <address>
                         end the binding and erase its sealed data
  directory pepper-rotate
                         make a new lookup pepper, offered once its hashed index is complete
                         The directory commands talk to its admin API: --admin-url http://host:port,
                         else TESSERA_DIRECTORY_ADMIN_LISTEN, else the local runner's state file in
                         TESSERA_DATA_DIR; the token from TESSERA_DIRECTORY_ADMIN_TOKEN_FILE
  invite revoke --token <token>
  invite revoke <medium> <address>
                         revoke one invite, or every invite of an address not yet delivered: never
                         delivered, its ephemeral key no longer valid, its sealed data erased. Finds
                         the invite service's admin API as the directory commands do, with
                         TESSERA_INVITE_ADMIN_LISTEN and TESSERA_INVITE_ADMIN_TOKEN_FILE
  ${IMPORT_USAGE}
                         move a stopped Sydent here: --stage config writes the Tessera YAML and
                         hands Sydent's signing key to signing's key file (before Tessera starts);
                         --stage data sends Sydent's data to the admin APIs of directory, session
                         and invite (found as above, TESSERA_SESSION_ADMIN_LISTEN for session);
                         all (the default) does both. --dry-run prints the plan (what is imported,
                         what is left out and why) and writes and sends nothing. --now sets the
                         clock for validity windows and the 24 h of sessions. Safe to run again
`;

type Command = (args: string[], io: CliIo) => Promise<number>;
const COMMANDS: Record<string, Command> = {
  provision: provisionCommand,
  'nats-identities': natsIdentitiesCommand,
  keys: keysCommand,
  projector: projectorCommand,
  directory: directoryCommand,
  invite: inviteCommand,
  import: importCommand,
};

/** Runs one command; resolves with the process's exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out).write(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.err.write(`tessera: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await command(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`tessera ${name}: ${err.message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    io.err.write(`tessera ${name}: ${(err as Error).message}\n`);
    return err instanceof ConfigError ? EXIT_CONFIG : 1;
  }
}

export class UsageError extends Error {}

/** NATS refused a right: says which identity the command needs; any other error as it is. */
export function withIdentityHint(err: unknown, needs: string): unknown {
  if (err instanceof NatsError && err.code === ErrorCode.PermissionsViolation)
    return new Error(`${err.message}: ${needs} (TESSERA_NATS_CREDENTIALS_FILE names another's)`);
  return err;
}

import { randomUUID } from 'node:crypto';
import { loadConfig } from '@tessera/config';
import { EventStore, handleCommand, InvalidSubject, inboxPrefixOf, redactUrl, subjectOf } from '@tessera/event-store';
import { natsCredentials } from '@tessera/nats-access';
import { type KeyCommand, storedKeys } from '@tessera/signing-keys';
import { connect } from 'nats';
import type { CliIo } from './cli.js';
import { UsageError, withIdentityHint } from './cli.js';

const MAX_REASON_LENGTH = 500;
const CONTROL_CHARACTERS = /[\p{Cc}]/u;

/**
 * `tessera keys revoke <keyId> --reason <text>`: appends KeyRevoked to `tessera.key.<keyId>` through
 * the key decider, as signing would: a revocation needs no private key, only the right to append
 * key events, which is the signing identity's. So the command runs as signing (its credentials in
 * TESSERA_NATS_CREDENTIALS_FILE, held by whoever operates signing), never as a service of its own.
 */
export async function keysCommand(args: string[], { env, out }: CliIo): Promise<number> {
  const [action, keyId, ...rest] = args;
  if (action !== 'revoke') throw new UsageError(`keys takes "revoke" (got ${JSON.stringify(action ?? '')})`);
  if (keyId === undefined || keyId.startsWith('--')) throw new UsageError('keys revoke needs the key id (ed25519:0)');
  const reason = reasonOf(rest);
  let subject: string;
  try {
    subject = subjectOf('key', keyId);
  } catch (err) {
    if (err instanceof InvalidSubject) throw new UsageError(`not a key id: ${JSON.stringify(keyId)}`);
    throw err;
  }

  const config = loadConfig(env);
  const url = config.TESSERA_NATS_URL;
  if (url === undefined)
    throw new UsageError('set TESSERA_NATS_URL (and TESSERA_NATS_CREDENTIALS_FILE: the signing identity)');
  const authenticator = natsCredentials(config, 'signing');
  const nc = await connect({
    servers: url,
    name: 'tessera-keys-revoke',
    inboxPrefix: inboxPrefixOf('signing'), // the replies signing's identity may receive
    maxReconnectAttempts: 0,
    ...(authenticator && { authenticator }),
  });
  try {
    const command: KeyCommand = { type: 'RevokeKey', keyId, reason, now: new Date() };
    const handled = await handleCommand(new EventStore(nc), subject, storedKeys, command, {
      correlationId: `keys-revoke-${randomUUID()}`,
    });
    if (handled.events.length === 0) {
      out.write(`${keyId} was revoked already (${redactUrl(url)}): nothing appended\n`);
      return 0;
    }
    out.write(
      `revoked ${keyId} on ${redactUrl(url)} (stream sequence ${handled.seq}): within a second the signing ` +
        'service stops signing with it and every gateway answers isvalid false and pubkey 404 for it; ' +
        'nothing needs restarting.\n' +
        'Put a new key in the signing key file before its next start if this was its last valid key: until then ' +
        'signing refuses to sign (and is not ready), and it will not start on revoked keys alone.\n',
    );
    return 0;
  } catch (err) {
    throw withIdentityHint(err, 'revoking needs the signing identity'); // UnknownKey: its message, exit 1
  } finally {
    await nc.close().catch(() => {});
  }
}

/** `--reason <text>` (or `--reason=<text>`): required, one line of operator text. */
function reasonOf(args: string[]): string {
  let reason: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--reason') reason = args[++i];
    else if (arg.startsWith('--reason=')) reason = arg.slice('--reason='.length);
    else throw new UsageError(`keys revoke: unexpected ${JSON.stringify(arg)}`);
  }
  if (reason === undefined || reason.trim() === '') throw new UsageError('keys revoke needs --reason <text>');
  if (reason.length > MAX_REASON_LENGTH || CONTROL_CHARACTERS.test(reason))
    throw new UsageError(`--reason: one line of at most ${MAX_REASON_LENGTH} characters`);
  return reason;
}

// The security team's rotation step, in the signing package because only signing's code may make
// or read a long-term private key. Run as `node dist/keys-cli.js add <version> [--file <key file>]`.
import { parseArgs } from 'node:util';
import { loadConfig } from '@tessera/config';
import { addKey, keyFilePath } from './key-store.js';

const USAGE = `usage: keys-cli add <version> [--file <signing key file>]
  Writes a new ed25519:<version> first in the key file (TESSERA_SIGNING_KEY_FILE, else
  <TESSERA_DATA_DIR>/signing/signing.key): signing signs with it from its next start; the older
  keys stay valid until revoked (tessera keys revoke).`;

export async function keysCli(args: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { file: { type: 'string' } }, allowPositionals: true });
  const [action, version, ...extra] = positionals;
  if (action !== 'add' || version === undefined || extra.length > 0) {
    out.write(`${USAGE}\n`);
    return 64;
  }
  const file = values.file ?? keyFilePath(loadConfig(env));
  const key = await addKey(file, version);
  out.write(
    `added ${key.keyId} (public key ${key.publicKeyBase64}) first in ${file}.\n` +
      'Restart the signing service (every replica, with this file) to sign with it; it publishes the new key at start.\n' +
      'The older keys stay valid: revoke one with `tessera keys revoke <keyId> --reason <text>` once nothing needs it.\n',
  );
  return 0;
}

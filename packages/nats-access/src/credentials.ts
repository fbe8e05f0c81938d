import { readFileSync } from 'node:fs';
import { type Authenticator, credsAuthenticator, nkeyAuthenticator } from 'nats';
import { fromSeed } from 'nkeys.js';

const CREDS_JWT = /-----BEGIN NATS USER JWT-----/;
const USER_SEED = /^SU[A-Z2-7]{56}$/;

export class CredentialsUnusable extends Error {
  override readonly name = 'CredentialsUnusable';
}

/**
 * The authenticator of a credentials file: an nkey user seed (`SU…`, as the local runner and
 * `tessera nats-auth` make them) or a `.creds` file (JWT and seed, for servers in operator mode).
 * The file's content never appears in an error.
 */
export function readCredentialsFile(file: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CredentialsUnusable(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (CREDS_JWT.test(text)) return credsAuthenticator(new TextEncoder().encode(text));
  const seed = text.trim();
  if (!USER_SEED.test(seed)) throw new CredentialsUnusable(`${file} holds neither an nkey user seed nor a .creds file`);
  try {
    fromSeed(new TextEncoder().encode(seed));
  } catch {
    throw new CredentialsUnusable(`${file} holds a malformed nkey seed`);
  }
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}

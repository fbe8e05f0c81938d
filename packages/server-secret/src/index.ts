// The server secret (TESSERA_SECRET_KEY_FILE) and the keyed digests made with it, in one place:
// session, directory, invite and gateway must compute the same address keys and user keys.
export { purposeKey } from './purpose-key.js';
export { createSecrets, type DigestKind, MIN_SECRET_BYTES, readServerSecret, type Secrets } from './secrets.js';

import { IDENTITY_NAMES, type IdentityName } from './identities.js';
import { permissionsOf } from './permissions.js';

export type IdentityKey = { identity: IdentityName; publicKey: string };

/**
 * The `authorization` block of nats-server.conf: one nkey user per identity, each with its
 * permissions (admin with all). A connection without one of these keys is refused: nothing
 * connects anonymously.
 */
export function authorizationConfig(keys: readonly IdentityKey[]): string {
  const byIdentity = new Map(keys.map((key) => [key.identity, key.publicKey]));
  const missing = IDENTITY_NAMES.filter((identity) => !byIdentity.has(identity));
  if (missing.length > 0) throw new Error(`no public key for ${missing.join(', ')}`);
  const users = IDENTITY_NAMES.map((identity) => {
    const nkey = byIdentity.get(identity) as string;
    if (!/^U[A-Z2-7]{55}$/.test(nkey)) throw new Error(`${identity}: not an nkey user public key`);
    if (identity === 'admin')
      return `    # admin: provisioning only (streams, buckets); every right\n    { nkey: ${q(nkey)} }`;
    const { publish, subscribe } = permissionsOf(identity);
    return [
      `    # ${identity}`,
      `    { nkey: ${q(nkey)}, permissions: {`,
      `        publish: { allow: [${publish.map(q).join(', ')}] }`,
      `        subscribe: { allow: [${subscribe.map(q).join(', ')}] }`,
      '    } }',
    ].join('\n');
  });
  return ['authorization {', '  users: [', ...users, '  ]', '}', ''].join('\n');
}

// Quoted, so that `$JS...` is not read as a variable reference.
const q = (value: string) => JSON.stringify(value);

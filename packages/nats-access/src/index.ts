export { NotProvisioned, requireProvisioned } from './check-provisioned.js';
export { connectAsAdmin } from './connect-admin.js';
export { connectAs, type NatsAccess, natsAccessOf, natsCredentials } from './connect-as.js';
export { type NatsReadiness, natsReadiness } from './connection-readiness.js';
export { CredentialsUnusable, readCredentialsFile } from './credentials.js';
export {
  DURABLES,
  type Grants,
  grantsOf,
  IDENTITIES,
  IDENTITY_NAMES,
  type IdentityName,
  isIdentityName,
  KEY_FOLLOWERS,
  type ServiceIdentity,
} from './identities.js';
export { ensureIdentityFiles, type IdentityFile, identityFileOf } from './nkey-files.js';
export { type NatsPermissions, permissionsOf } from './permissions.js';
export { type Provisioned, type ProvisionSettings, provision, provisionSettingsOf } from './provision.js';
export { authorizationConfig, type IdentityKey } from './server-config.js';
export { readSyncPolicy, type SyncPolicy, unsafeSyncReason } from './sync-policy.js';

export type { SrvResolver } from './discovery.js';
export {
  createFederationClient,
  type FederationClient,
  type FederationClientOptions,
  type JsonRequest,
  type OutboundResolver,
  type SendOptions,
} from './federation-client.js';
export type { HttpsTarget, LookupAll } from './guarded-request.js';
export { createKeyring, type Keyring, type KeyringOptions } from './keyring.js';
export { HomeserverFailure, OutboundError, type OutboundFailure } from './outbound-error.js';
export { OutboundGuard } from './outbound-guard.js';
export type { ServerKeys } from './server-keys.js';
export { parseServerName, type ServerName } from './server-name.js';
export { createXMatrixVerifier, type SignedRequest, type XMatrixVerifier } from './x-matrix.js';
export { parseXMatrixHeaders, type XMatrixCredential } from './x-matrix-header.js';
export { XMatrixRefusal, type XMatrixRefusalReason } from './x-matrix-refusal.js';

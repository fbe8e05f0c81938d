export type { SrvResolver } from './discovery.js';
export {
  createFederationClient,
  type FederationClient,
  type FederationClientOptions,
  type OutboundResolver,
} from './federation-client.js';
export type { HttpsTarget, LookupAll } from './guarded-request.js';
export { HomeserverFailure, type OutboundFailure } from './outbound-error.js';
export { OutboundGuard } from './outbound-guard.js';
export { parseServerName, type ServerName } from './server-name.js';

import type { InviteServiceClient } from '@tessera/proto/tessera/invite/v1/invite';
import type { DeadlineClient } from '@tessera/service-kit';
import type { Authenticator } from '../auth.js';
import type { ClientIpOf } from '../client-ip.js';
import type { RateLimitGate } from '../request-limits.js';

export type InvitePort = DeadlineClient<InviteServiceClient>;

/** What the invite routes need; gateway.ts wires the real ones, tests fakes. */
export interface InviteRouteDeps {
  invite: Pick<InvitePort, 'storeInvite' | 'ephemeralKeyIsValid' | 'signEd25519'>;
  /** v2's token check (token-checks.ts). */
  auth: Authenticator;
  /** store-invite's limits per sender, and per client IP on v1 (rate-limits.ts). */
  gate: RateLimitGate;
  /** v1 store-invite's caller, for its per-IP limit. */
  clientIpOf: ClientIpOf;
}

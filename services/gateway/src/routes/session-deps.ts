import type { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import type { DeadlineClient, Logger } from '@tessera/service-kit';
import type { Authenticator } from '../auth.js';
import type { ClientIpOf } from '../client-ip.js';
import type { KnownUsers } from '../known-users.js';
import type { RateLimitGate } from '../request-limits.js';
import type { VerifyPages } from '../verify-page.js';

export type SessionPort = DeadlineClient<SessionServiceClient>;

/** What the validation, account and terms routes need; gateway.ts wires the real ones, tests fakes. */
export interface SessionRouteDeps {
  session: SessionPort;
  auth: Authenticator;
  /** requestToken's v2 callers (see known-users.ts). */
  users: KnownUsers;
  clientIpOf: ClientIpOf;
  gate: RateLimitGate;
  /** requestToken waits for the mail's or SMS's outcome: the delivery wait plus the usual deadline. */
  requestTokenDeadlineMs: number;
  pages: VerifyPages;
  log: Logger;
}

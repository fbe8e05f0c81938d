import { createHash } from 'node:crypto';
import type { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import type { DeadlineClient } from '@tessera/service-kit';
import type { Request } from 'express';
import { type Authenticator, authenticator, requireAccessToken } from './auth.js';

/** A v2 caller of requestToken: the user its limits count against, and the token it sent. */
export type KnownCaller = { userId: string; accessToken: string };

/**
 * The user behind each access token seen lately, for requestToken's per-user rate limit, so that
 * requestToken makes one call to the session service instead of two (Authenticate, then
 * RequestToken). A token's user never changes while the token is valid; whether it still is, and
 * whether the terms are accepted, the session service checks on every RequestToken, which carries
 * the token. A token first seen goes through the authenticator, so a bad one is refused (401, 403)
 * before anything else; one that has since been logged out is refused by the session service,
 * after its request was counted. Tokens are kept as hashes; the least recently used drop out.
 */
export interface KnownUsers {
  callerOf(req: Request): Promise<KnownCaller>;
  /** Forgets a token the session service refused. */
  forget(accessToken: string): void;
}

export function knownUsers(auth: Authenticator, { maxEntries = 10_000 }: { maxEntries?: number } = {}): KnownUsers {
  const users = new Map<string, string>(); // sha256(token) → user id, least recently used first
  const keyOf = (accessToken: string) => createHash('sha256').update(accessToken).digest('base64url');
  return {
    async callerOf(req) {
      const accessToken = requireAccessToken(req);
      const key = keyOf(accessToken);
      let userId = users.get(key);
      if (userId === undefined) {
        ({ userId } = await auth(req, { terms: true }));
        if (users.size >= maxEntries) users.delete(users.keys().next().value as string);
      } else {
        users.delete(key);
      }
      users.set(key, userId);
      return { userId, accessToken };
    },
    forget: (accessToken) => users.delete(keyOf(accessToken)),
  };
}

/** The authenticator and requestToken's known users, both asking `session`. */
export function sessionCallers(session: Pick<DeadlineClient<SessionServiceClient>, 'authenticate'>): {
  auth: Authenticator;
  users: KnownUsers;
} {
  const auth = authenticator(session);
  return { auth, users: knownUsers(auth) };
}

// The invite routes over a real HTTP server, with the invite port faked in memory (its calls
// recorded, each answer scriptable), the fake session of session-fixture.ts answering the token
// checks, and the real rate-limit gate over in-memory counters.
import type {
  EphemeralKeyIsValidRequest,
  EphemeralKeyIsValidResponse,
  SignEd25519Request,
  SignEd25519Response,
  StoreInviteRequest,
  StoreInviteResponse,
} from '@tessera/proto/tessera/invite/v1/invite';
import { createLogger } from '@tessera/service-kit';
import { authenticator } from '../src/auth.js';
import { clientIpResolver } from '../src/client-ip.js';
import { rateLimitGate } from '../src/request-limits.js';
import type { InvitePort } from '../src/routes/invite-deps.js';
import { inviteRoutes } from '../src/routes/invite-routes.js';
import { type Handlers, recordingPort } from './recording-port.js';
import { fakeSession, memoryLimiter, serveRoutes, TEST_LIMITS } from './session-fixture.js';

export const LONG_TERM_KEY = 'Lk4pCZy8wdbBVc0OKbYvpvlLHdCzRQXDPx4pjcN4y3I';
export const EPHEMERAL_KEY = 'yE_o7nAaoo9i5tyxlr8BcyYHfjDXxoJR-ZtH0w-PJIA';
export const INVITE_TOKEN = 'sMtXqpjHbHEulPyqeqrnvMDmGvZtqBoD';

/** Canonical JSON as the invite service signs it. */
export const signedJson = (mxid: string) =>
  `{"mxid":"${mxid}","sender":"@alice:example.org","signatures":{"example.org":{"ed25519:0":"c2lnbmF0dXJl"}},"token":"${INVITE_TOKEN}"}`;

type Calls = {
  storeInvite: StoreInviteRequest;
  ephemeralKeyIsValid: EphemeralKeyIsValidRequest;
  signEd25519: SignEd25519Request;
};
type Answers = {
  storeInvite: StoreInviteResponse;
  ephemeralKeyIsValid: EphemeralKeyIsValidResponse;
  signEd25519: SignEd25519Response;
};

const BASE_URL = 'https://id.example.org/_matrix/identity/api/v1';
const DEFAULTS: Handlers<Calls, Answers> = {
  storeInvite: async () => ({
    token: INVITE_TOKEN,
    publicKeys: [
      { publicKey: LONG_TERM_KEY, keyValidityUrl: `${BASE_URL}/pubkey/isvalid` },
      { publicKey: EPHEMERAL_KEY, keyValidityUrl: `${BASE_URL}/pubkey/ephemeral/isvalid` },
    ],
    displayName: 'bob...@exa...',
  }),
  ephemeralKeyIsValid: async ({ publicKey }) => ({ valid: publicKey === EPHEMERAL_KEY }),
  signEd25519: async ({ mxid }) => ({ signedJson: signedJson(mxid) }),
};

/** An invite port that records every call; `script` replaces one method's answer until reset(). */
export function fakeInvite() {
  return recordingPort<InvitePort, Calls, Answers>(DEFAULTS);
}

/** TEST_LIMITS with a per-IP limit a test reaches in a few calls: 3 per client IP (v1), 2 per sender. */
export const INVITE_TEST_LIMITS = { ...TEST_LIMITS, ip: { count: 3, windowMs: 60_000 } };

export async function startInviteApp() {
  const invite = fakeInvite();
  const session = fakeSession();
  const limits = memoryLimiter();
  const gate = rateLimitGate(limits.limiter, INVITE_TEST_LIMITS, createLogger('gateway-test', 'silent'));
  // Behind a trusted proxy on loopback: a test names its client's address with X-Forwarded-For.
  const clientIpOf = clientIpResolver(['127.0.0.1/32']);
  const served = await serveRoutes(
    inviteRoutes({ invite: invite.port, auth: authenticator(session.port), gate, clientIpOf }),
  );
  return {
    ...served,
    invite,
    session,
    limits,
    reset() {
      invite.reset();
      session.reset();
      limits.reset();
    },
  };
}
export type InviteApp = Awaited<ReturnType<typeof startInviteApp>>;

// The validation session (`tessera.session.<sid>`): proves that whoever holds the client secret
// also received the token sent to an address. Pure: the clock comes in the command, digests
// stand in for secrets, and what must be read back later (the address, the next_link) arrives
// already sealed.
import { TesseraError } from '@tessera/errors';
import type { Decider } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { Medium } from '@tessera/spec-params';
import { sameDigest } from './same-digest.js';

/** Spec: a session may be validated and checked for 24 h after its last modification. */
export const LIFETIME_MS = 24 * 3_600_000;

// The one Medium type, re-exported: the domain speaks of it, its definition lives with the spec's parameters.
export type { Medium };

/** What a session generation starts with: the session's first facts, its private ones sealed. */
export type Opening = {
  medium: Medium;
  addrKey: string;
  clientSecretDigest: string;
  sealedAddress: Sealed;
  sealedNextLink: Sealed | null;
  /** The typed address as matrix-js-sdk lower-cases it, where that differs from the normalised one (email only). */
  sealedClientLowercaseAddress: Sealed | null;
};

/** One new token, and what the notifier needs to deliver it. */
export type NewToken = {
  tokenDigest: string;
  sealedToken: Sealed;
  sealedClientIp: Sealed | null;
  sealedClientSecret: Sealed;
  deliveryId: string;
  brand: string;
  country: string;
};

export type SessionEvent =
  | { type: 'SessionStarted'; data: Opening & { sid: string; at: Date } }
  | {
      type: 'TokenIssued';
      /**
       * `imported`: issued and sent by the server the session was imported from (Sydent); nothing
       * to deliver here, and no delivery subject exists for its `deliveryId`.
       */
      data: NewToken & { sid: string; sendAttempt: number; imported: boolean; at: Date };
    }
  | { type: 'TokenRejected'; data: { sid: string; failedAttempts: number; at: Date } }
  | { type: 'SessionLocked'; data: { sid: string; at: Date } }
  | { type: 'SessionValidated'; data: { sid: string; at: Date } }
  /** Under the sid this server makes for an imported session's medium, address and client secret. */
  | { type: 'SessionImportedAs'; data: { sid: string; importedSid: string; at: Date } };

/**
 * How the delivery of the session's last token ended, as the notifier recorded it (read from
 * `tessera.delivery.<id>` before deciding): `pending` while it has no outcome.
 */
export type PreviousDelivery = { deliveryId: string; outcome: 'sent' | 'failed' | 'pending' };

export type SessionCommand =
  | {
      type: 'RequestToken';
      sid: string;
      sendAttempt: number;
      /** The delivery of the last token issued, when deliveryToCheck names it; else null. */
      previousDelivery: PreviousDelivery | null;
      /** Needed when requestTokenEffect is 'start'; else null (a session that goes on is not opened again). */
      opening: Opening | null;
      /** Needed unless requestTokenEffect is 'nothing'; else null (a repeated send_attempt makes no token). */
      token: NewToken | null;
      now: Date;
    }
  | { type: 'SubmitToken'; clientSecretDigest: string; tokenDigest: string; maxFailures: number; now: Date }
  | ImportSession
  | {
      /**
       * Sends the requestTokens of an imported session's medium, address and client secret, which
       * land on `sid` (the sid this server makes for them), on to the imported session, as the
       * server it came from would have found it.
       */
      type: 'ForwardToImported';
      sid: string;
      importedSid: string;
      now: Date;
    };

/**
 * A session taken over from another server (the admin API's `import/sessions`): it goes on as if
 * it had started here at `modifiedAt`, with the same sid, client secret and token (the mailed link
 * keeps working), nothing sent again.
 */
export type ImportSession = {
  type: 'ImportSession';
  sid: string;
  medium: Medium;
  clientSecretDigest: string;
  tokenDigest: string;
  validated: boolean;
  /** The other server's last modification: every event happens then, so the 24 h run from here. */
  modifiedAt: Date;
  /** Needed when the sid has no session yet; else null (nothing is sealed for a session already here). */
  sealed: { opening: Opening; token: NewToken } | null;
  now: Date;
};

/**
 * The send_attempt an imported token is issued for: Sydent never records one (its update misses
 * the row, so every session keeps −1, its initial value), and any attempt a client sends is higher.
 */
export const IMPORTED_SEND_ATTEMPT = -1;

export type OpenSession = {
  status: 'pending' | 'validated' | 'locked';
  sid: string;
  medium: Medium;
  clientSecretDigest: string;
  sealedAddress: Sealed;
  sealedNextLink: Sealed | null;
  sealedClientLowercaseAddress: Sealed | null;
  /** Every token of this generation: a resend makes a new token, and the older mails stay good. */
  tokenDigests: string[];
  lastSendAttempt: number;
  /** The delivery of the last token issued: whether it failed decides if its send_attempt may send again. */
  lastDeliveryId: string | null;
  failedAttempts: number;
  /** Started, a token issued, validated: the 24 h run from here. */
  modifiedAt: Date;
  validatedAt: Date | null;
};
/**
 * `importedAs`: no session here, but requestToken goes on with the session of this medium, address
 * and client secret that was imported under that sid (see ForwardToImported); null otherwise.
 */
export type Session = { status: 'none'; importedAs: string | null } | OpenSession;

export const initial = (): Session => ({ status: 'none', importedAs: null });

/** One answer for an unknown sid and a wrong secret alike, so session ids cannot be probed. */
export const noValidSession = () =>
  new TesseraError('M_NO_VALID_SESSION', 'No valid session was found matching that sid and client secret');
const tokenIncorrect = () => new TesseraError('M_TOKEN_INCORRECT', 'The token is incorrect');

export function evolve(state: Session, event: SessionEvent): Session {
  switch (event.type) {
    case 'SessionStarted': {
      const { sid, medium, clientSecretDigest, sealedAddress, sealedNextLink, sealedClientLowercaseAddress, at } =
        event.data;
      // A new generation: whatever the previous one had (tokens, attempts, failures) is gone.
      return {
        status: 'pending',
        sid,
        medium,
        clientSecretDigest,
        sealedAddress,
        sealedNextLink,
        sealedClientLowercaseAddress,
        tokenDigests: [],
        lastSendAttempt: -1, // Sydent's initial value: attempt 0 is higher
        lastDeliveryId: null,
        failedAttempts: 0,
        modifiedAt: at,
        validatedAt: null,
      };
    }
    case 'TokenIssued':
      if (state.status === 'none') return state;
      return {
        ...state,
        tokenDigests: [...state.tokenDigests, event.data.tokenDigest],
        lastSendAttempt: Math.max(state.lastSendAttempt, event.data.sendAttempt),
        // An imported token was sent by the server it came from: there is no delivery to read, and
        // a repeated send_attempt finds it sent, as one whose delivery here succeeded.
        lastDeliveryId: event.data.imported ? null : event.data.deliveryId,
        modifiedAt: event.data.at,
      };
    case 'TokenRejected':
      return state.status === 'none' ? state : { ...state, failedAttempts: event.data.failedAttempts };
    case 'SessionLocked':
      return state.status === 'none' ? state : { ...state, status: 'locked' };
    case 'SessionValidated':
      if (state.status === 'none') return state;
      return { ...state, status: 'validated', modifiedAt: event.data.at, validatedAt: event.data.at };
    case 'SessionImportedAs':
      return state.status === 'none' ? { status: 'none', importedAs: event.data.importedSid } : state;
  }
}

export function decide(command: SessionCommand, state: Session): SessionEvent[] {
  const at = command.now;
  switch (command.type) {
    case 'RequestToken': {
      const { sid, sendAttempt, previousDelivery, opening, token } = command;
      const effect = requestTokenEffect(state, sendAttempt, at, previousDelivery);
      if (effect === 'nothing') return []; // send_attempt used already: same sid, nothing sent
      if (token === null) throw new IncompleteCommand('RequestToken', 'a token to issue');
      const issued: SessionEvent = { type: 'TokenIssued', data: { ...token, sid, sendAttempt, imported: false, at } };
      if (effect === 'issue') return [issued];
      if (opening === null) throw new IncompleteCommand('RequestToken', 'an opening to start the session with');
      return [{ type: 'SessionStarted', data: { ...opening, sid, at } }, issued];
    }
    case 'SubmitToken': {
      const session = liveSession(state, command.clientSecretDigest, at);
      const { sid } = session;
      if (session.tokenDigests.some((digest) => sameDigest(digest, command.tokenDigest)))
        return session.status === 'validated' ? [] : [{ type: 'SessionValidated', data: { sid, at } }];
      // Once validated there is nothing left to guess: refuse, but do not count towards a lockout.
      if (session.status === 'validated') throw tokenIncorrect();
      const failedAttempts = session.failedAttempts + 1;
      const rejected: SessionEvent = { type: 'TokenRejected', data: { sid, failedAttempts, at } };
      return failedAttempts >= command.maxFailures
        ? [rejected, { type: 'SessionLocked', data: { sid, at } }]
        : [rejected];
    }
    case 'ImportSession':
      return decideImport(command, state);
    case 'ForwardToImported': {
      // Once only, and never over a session of this server's own: that one is what requestToken finds.
      if (state.status !== 'none' || state.importedAs !== null) return [];
      const { sid, importedSid } = command;
      return [{ type: 'SessionImportedAs', data: { sid, importedSid, at } }];
    }
  }
}

/** The imported session's events, all at its `modifiedAt`; none when it is here already. */
function decideImport(command: ImportSession, state: Session): SessionEvent[] {
  if (importSessionEffect(state, command) === 'present') return [];
  if (command.sealed === null) throw new IncompleteCommand('ImportSession', 'the sealed session to start');
  const { sid, modifiedAt: at } = command;
  const { opening, token } = command.sealed;
  const events: SessionEvent[] = [
    { type: 'SessionStarted', data: { ...opening, sid, at } },
    { type: 'TokenIssued', data: { ...token, sid, sendAttempt: IMPORTED_SEND_ATTEMPT, imported: true, at } },
  ];
  if (command.validated) events.push({ type: 'SessionValidated', data: { sid, at } });
  return events;
}

/**
 * What ImportSession does: `present` when this very session (medium, client secret, token) is
 * here already, whatever became of it since; `start` for a sid with no session. Refused
 * (M_INVALID_PARAM, M_SESSION_EXPIRED: the reason an import answers) when the sid is another
 * session's, or when the session is dated in the future or would already be expired. The one place
 * of this rule: decide follows it, and whoever makes the command asks it first, to make a data key
 * and seal only for a session that starts.
 */
export function importSessionEffect(state: Session, command: ImportSession): 'start' | 'present' {
  if (state.status !== 'none') {
    if (isSameSession(state, command)) return 'present';
    throw new TesseraError('M_INVALID_PARAM', 'the sid belongs to another session');
  }
  const { modifiedAt, now } = command;
  if (modifiedAt.getTime() > now.getTime()) throw new TesseraError('M_INVALID_PARAM', 'mtime is in the future');
  if (now.getTime() - modifiedAt.getTime() >= LIFETIME_MS)
    throw new TesseraError('M_SESSION_EXPIRED', 'expired: mtime + 24 h is not after now');
  return 'start';
}

const isSameSession = (session: OpenSession, command: ImportSession) =>
  session.medium === command.medium &&
  sameDigest(session.clientSecretDigest, command.clientSecretDigest) &&
  session.tokenDigests.some((digest) => sameDigest(digest, command.tokenDigest));

export const sessionDecider: Decider<SessionCommand, SessionEvent, Session> = { decide, evolve, initial };

/**
 * A RequestToken or ImportSession without what its decision needs: whoever made the command looked
 * at another state than the one it was decided on. A bug, never an answer to a client.
 */
export class IncompleteCommand extends Error {
  override readonly name = 'IncompleteCommand';
  constructor(command: SessionCommand['type'], missing: string) {
    super(`${command} needs ${missing} for this session`);
  }
}

/**
 * The refusal a decision stands for, once its events are appended: a wrong token is remembered
 * (it counts towards the lockout) and still answered with M_TOKEN_INCORRECT.
 */
export function refusalOf(events: readonly SessionEvent[]): TesseraError | null {
  return events.some((event) => event.type === 'TokenRejected') ? tokenIncorrect() : null;
}

/**
 * What RequestToken does to a session: a dead one (never started, expired, locked) starts over
 * with any send_attempt (its tokens are useless, and refusing would leave the client a sid it can
 * never validate); a live one issues a token for a send_attempt higher than any seen, or for the
 * same one again when the delivery of its token failed: like Sydent, only a message sent uses its
 * send_attempt up (one still pending does too: it is on its way). The one place of this rule:
 * decide follows it, and whoever makes the command asks it first, to make and seal only what the
 * decision will store.
 */
export function requestTokenEffect(
  state: Session,
  sendAttempt: number,
  now: Date,
  previousDelivery: PreviousDelivery | null,
): 'start' | 'issue' | 'nothing' {
  const live = liveForRequests(state, now);
  if (live === null) return 'start';
  if (sendAttempt > live.lastSendAttempt) return 'issue';
  return sendAttempt === live.lastSendAttempt && lastDeliveryFailed(live, previousDelivery) ? 'issue' : 'nothing';
}

/**
 * The delivery whose outcome RequestToken needs (read it into `previousDelivery`): the last
 * token's, when a live session sees its send_attempt again; null when the outcome changes nothing.
 */
export function deliveryToCheck(state: Session, sendAttempt: number, now: Date): string | null {
  const live = liveForRequests(state, now);
  return live !== null && sendAttempt === live.lastSendAttempt ? live.lastDeliveryId : null;
}

/** The session, unless requestToken would start it over (never started, locked, expired). */
function liveForRequests(state: Session, now: Date): OpenSession | null {
  return state.status === 'none' || state.status === 'locked' || isExpired(state, now) ? null : state;
}

// Only an outcome read for this very delivery counts: one read before the session moved on says nothing.
const lastDeliveryFailed = (state: OpenSession, previous: PreviousDelivery | null) =>
  previous !== null && previous.deliveryId === state.lastDeliveryId && previous.outcome === 'failed';

export function isExpired(session: OpenSession, now: Date): boolean {
  return now.getTime() - session.modifiedAt.getTime() > LIFETIME_MS;
}

/** The session, if the client secret is its own and it can still be used; throws the Matrix error otherwise. */
export function liveSession(state: Session, clientSecretDigest: string, now: Date): OpenSession {
  if (state.status === 'none' || !sameDigest(state.clientSecretDigest, clientSecretDigest)) throw noValidSession();
  if (state.status === 'locked')
    throw new TesseraError('M_SESSION_EXPIRED', 'This session was locked after too many wrong tokens');
  if (isExpired(state, now)) throw new TesseraError('M_SESSION_EXPIRED', 'This validation session has expired');
  return state;
}

export type ValidatedThreepid = {
  medium: Medium;
  sealedAddress: Sealed;
  sealedClientLowercaseAddress: Sealed | null;
  validatedAt: Date;
};

/** getValidated3pid, bind and unbind by session: what the session proves, or why it proves nothing. */
export function validatedThreepid(state: Session, clientSecretDigest: string, now: Date): ValidatedThreepid {
  const session = liveSession(state, clientSecretDigest, now);
  if (session.status !== 'validated' || session.validatedAt === null)
    throw new TesseraError('M_SESSION_NOT_VALIDATED', 'This validation session has not been validated');
  const { medium, sealedAddress, sealedClientLowercaseAddress, validatedAt } = session;
  return { medium, sealedAddress, sealedClientLowercaseAddress, validatedAt };
}

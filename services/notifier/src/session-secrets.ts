import { type DataKeys, type EventStore, SealedValueInvalid, SUBJECT_PREFIX } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { SessionStarted, TokenIssued } from '@tessera/proto/tessera/events/v1/session';
import {
  type Medium,
  mediumFromEvent,
  SESSION_SEALED_FIELDS as SEALED,
  type SessionSealedField,
} from '@tessera/spec-params';

/** What a delivery needs to know, in plaintext: kept in memory for one delivery, never logged. */
export type SessionSecrets = {
  medium: Medium;
  /**
   * Where the message goes: the email address as the user typed it, lower-cased, where full case
   * folding changed it beyond that (`ß` folds to `ss`: another mailbox), else the normalised email
   * address; or the MSISDN (E.164 digits without `+`).
   */
  address: string;
  token: string;
  /** Null for SMS: its message carries no link. */
  clientSecret: string | null;
  /** Null when the session service did not know it (it then leaves TokenIssued.client_ip unset). */
  clientIp: string | null;
};

export type OpenedSession =
  | { status: 'open'; secrets: SessionSecrets }
  /** Nothing can be sent, whatever is tried later; `reason` names no secret. */
  | { status: 'unusable'; medium: Medium | null; reason: string };

export type UnusableSession = Extract<OpenedSession, { status: 'unusable' }>;

/**
 * Loads `session.<sid>` for the SessionStarted that the TokenIssued belongs to, and opens the
 * sealed fields a delivery needs. Throws only what a later try may cure (NATS unreachable).
 */
export async function openSession(
  deps: { store: EventStore; dataKeys: DataKeys },
  context: { aggregate: string; issued: TokenIssued; issuedEventId: string; decision: readonly Event[] },
): Promise<OpenedSession> {
  const { aggregate, issued } = context;
  const started = await sessionStartedFor(deps.store, context);
  if (started === undefined) return { status: 'unusable', medium: null, reason: 'no session was started' };
  const medium = mediumFromEvent(started.medium);
  if (medium === null) return { status: 'unusable', medium: null, reason: 'the session has an unsupported medium' };

  const open = openerFor(deps.dataKeys, aggregate, medium);
  try {
    // The typed form is kept only where it differs from the normalised one (SessionStarted).
    const address =
      started.clientLowercaseAddress === undefined
        ? await open(SEALED.address, started.address)
        : await open(SEALED.clientLowercaseAddress, started.clientLowercaseAddress);
    const token = await open(SEALED.token, issued.token);
    const clientSecret = medium === 'email' ? await open(SEALED.clientSecret, issued.clientSecret) : null;
    const clientIp = issued.clientIp === undefined ? null : await open(SEALED.clientIp, issued.clientIp);
    return { status: 'open', secrets: { medium, address, token, clientSecret, clientIp } };
  } catch (err) {
    if (err instanceof Unopenable) return err.outcome;
    throw err;
  }
}

/**
 * The SessionStarted the token belongs to: the last one before it, in its own decision when the
 * session started with it (no read needed), else on the session's subject (a resend on a later
 * send_attempt). A session may have started again on the same subject, hence "before it".
 */
async function sessionStartedFor(
  store: EventStore,
  { aggregate, issuedEventId, decision }: { aggregate: string; issuedEventId: string; decision: readonly Event[] },
): Promise<SessionStarted | undefined> {
  const inDecision = startedBefore(decision, issuedEventId);
  if (inDecision !== undefined) return inDecision;
  return startedBefore((await store.load(`${SUBJECT_PREFIX}.${aggregate}`)).events, issuedEventId);
}

function startedBefore(events: readonly Event[], issuedEventId: string): SessionStarted | undefined {
  const issuedAt = events.findIndex((event) => event.eventId === issuedEventId);
  const before = issuedAt < 0 ? events : events.slice(0, issuedAt);
  const started = before.findLast((event) => event.payload?.$case === 'sessionStarted')?.payload;
  return started?.$case === 'sessionStarted' ? started.value : undefined;
}

class Unopenable extends Error {
  constructor(readonly outcome: UnusableSession) {
    super(outcome.reason);
  }
}

function openerFor(dataKeys: DataKeys, aggregate: string, medium: Medium) {
  const unusable = (reason: string) => new Unopenable({ status: 'unusable', medium, reason });
  return async (field: SessionSealedField, sealed: Sealed | undefined): Promise<string> => {
    if (sealed === undefined) throw unusable(`the session has no sealed ${field}`);
    let bytes: Uint8Array | null;
    try {
      bytes = await dataKeys.openField(aggregate, field, sealed);
    } catch (err) {
      if (err instanceof SealedValueInvalid) throw unusable(`the sealed ${field} does not open`);
      throw err;
    }
    // The aggregate's data key was erased (crypto-shredding): the data is gone for good.
    if (bytes === null) throw unusable('erased');
    return Buffer.from(bytes).toString('utf8');
  };
}

import type { DataKeys, EventStore, LoadedState } from '@tessera/event-store';
import type { RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';
import type { Secrets } from '@tessera/server-secret';
import {
  brandOf,
  parseClientSecret,
  parseGrpcMedium,
  parseNextLink,
  parseSendAttempt,
  SESSION_SEALED_FIELDS as SEALED,
} from '@tessera/spec-params';
import { deliverySubject, sessionAggregate } from '../aggregates.js';
import { outcomeOf } from '../delivery-wait.js';
import {
  deliveryToCheck,
  type Medium,
  type NewToken,
  type Opening,
  type PreviousDelivery,
  requestTokenEffect,
  type Session,
  type SessionCommand,
} from '../domain/session.js';
import { newDeliveryNonce, newValidationToken } from '../tokens.js';
import { checkClientLowercaseAddress, checkCountry, cleanClientIp } from './request-checks.js';

export type RequestTokenCommand = Extract<SessionCommand, { type: 'RequestToken' }>;

/**
 * A checked RequestToken: the sid, the delivery id and the clock are fixed. `command` then makes the
 * complete command for the session as loaded, with every effect the decision needs, so that the
 * decider only decides. Nothing is stored yet.
 */
export type RequestTokenPlan = {
  medium: Medium;
  sid: string;
  sendAttempt: number;
  deliveryId: string;
  now: Date;
  /**
   * Run before each decision, on the state it decides on (handleCommand's prepare step): reads the
   * outcome of the last token's delivery when the decision turns on it (afresh each time: a
   * decision taken again after a conflict may see another last token), and makes what the decision
   * will store, no more: a session that starts gets its data key and its sealed opening, a token to
   * issue is made with its sealed fields; a send_attempt used already makes and seals nothing.
   * Each is made once per request: a decision taken again uses the same token and sealed values.
   */
  command(loaded: LoadedState<Session>): Promise<RequestTokenCommand>;
};

export type RequestTokenDeps = {
  secrets: Secrets;
  dataKeys: DataKeys;
  /** Reads the last token's delivery. */
  store: Pick<EventStore, 'load'>;
  now: () => Date;
};

/**
 * Thrown by a plan's `command` when its sid holds no session but forwards to an imported one (a
 * session of this medium, address and client secret imported from another server): plan again
 * with that sid.
 */
export class ImportedElsewhere extends Error {
  override readonly name = 'ImportedElsewhere';
  constructor(readonly importedSid: string) {
    super(`the session was imported as ${importedSid}`);
  }
}

/** `importedSid`: the session goes on under that sid (see ImportedElsewhere), not the one made here. */
export function planRequestToken(
  request: RequestTokenRequest,
  { secrets, dataKeys, store, now }: RequestTokenDeps,
  importedSid?: string,
): RequestTokenPlan {
  const medium = parseGrpcMedium(request.medium);
  const address = request.address; // normalised by the gateway, the one place that does it
  const clientSecret = parseClientSecret(request.clientSecret);
  const sendAttempt = parseSendAttempt(request.sendAttempt);
  const nextLink = parseNextLink(request.nextLink);
  const country = checkCountry(medium, request.country);
  const clientIp = cleanClientIp(request.clientIp);
  const brand = brandOf(request.brand) ?? '';
  const clientLowercaseAddress = checkClientLowercaseAddress(medium, address, request.clientLowercaseAddress);

  const sid = importedSid ?? secrets.sid(medium, address, clientSecret);
  const aggregate = sessionAggregate(sid);
  // Unique per decision: a session that starts over may see the same send_attempt again, and
  // the notifier sends at most once per delivery id.
  const deliveryId = `${sid}-${sendAttempt}-${newDeliveryNonce()}`;
  const at = now();
  // Sealed under `session.<sid>` with the names the notifier opens them by (SESSION_SEALED_FIELDS).
  const seal = (field: string, plaintext: string) => dataKeys.sealField(aggregate, field, plaintext);

  const createDataKey = once(() => dataKeys.createKey(aggregate));
  const sealOpening = once(
    async (): Promise<Opening> => ({
      medium,
      addrKey: secrets.addrKey(medium, address),
      clientSecretDigest: secrets.digest('client_secret', clientSecret),
      sealedAddress: await seal(SEALED.address, address),
      sealedNextLink: nextLink === null ? null : await seal(SEALED.nextLink, nextLink),
      sealedClientLowercaseAddress:
        clientLowercaseAddress === '' ? null : await seal(SEALED.clientLowercaseAddress, clientLowercaseAddress),
    }),
  );
  const makeToken = once(async (): Promise<NewToken> => {
    const plaintext = newValidationToken(medium);
    return {
      tokenDigest: secrets.digest('token', plaintext),
      sealedToken: await seal(SEALED.token, plaintext),
      sealedClientIp: clientIp === '' ? null : await seal(SEALED.clientIp, clientIp),
      sealedClientSecret: await seal(SEALED.clientSecret, clientSecret),
      deliveryId,
      brand,
      country,
    };
  });
  const previousDeliveryOf = async (lastDeliveryId: string | null): Promise<PreviousDelivery | null> => {
    if (lastDeliveryId === null) return null;
    const outcome = outcomeOf((await store.load(deliverySubject(lastDeliveryId))).events);
    return { deliveryId: lastDeliveryId, outcome: outcome.status };
  };

  return {
    medium,
    sid,
    sendAttempt,
    deliveryId,
    now: at,
    async command({ state, seq }) {
      if (state.status === 'none' && state.importedAs !== null) throw new ImportedElsewhere(state.importedAs);
      const previousDelivery = await previousDeliveryOf(deliveryToCheck(state, sendAttempt, at));
      // The decider's own rule, asked here only to know what to make: decide follows the same.
      const effect = requestTokenEffect(state, sendAttempt, at, previousDelivery);
      // A session with no events yet most likely has no data key either: made without looking first.
      if (effect !== 'nothing' && seq === 0) await createDataKey();
      return {
        type: 'RequestToken',
        sid,
        sendAttempt,
        previousDelivery,
        opening: effect === 'start' ? await sealOpening() : null,
        token: effect === 'nothing' ? null : await makeToken(),
        now: at,
      };
    },
  };
}

/** Runs `make` on the first call only; later calls get the same promise. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

import { TesseraError, termsNotSigned } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, loadState } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type {
  AuthenticateResponse,
  GetValidated3pidRequest,
  GetValidated3pidResponse,
  RequestTokenRequest,
  RequestTokenResponse,
  SubmitTokenRequest,
  SubmitTokenResponse,
} from '@tessera/proto/tessera/session/v1/session';
import type { Secrets } from '@tessera/server-secret';
import type { Clock, Logger } from '@tessera/service-kit';
import {
  mediumToGrpc,
  parseClientSecret,
  parseSid,
  parseValidationToken,
  SESSION_SEALED_FIELDS as SEALED,
} from '@tessera/spec-params';
import { isStorableSid, sessionAggregate, sessionSubject } from '../aggregates.js';
import type { WatchDelivery } from '../delivery-wait.js';
import { type Medium, noValidSession, refusalOf, type SessionCommand, validatedThreepid } from '../domain/session.js';
import { storedSessions } from '../events/session-events.js';
import { ImportedElsewhere, planRequestToken } from './request-token-command.js';

export interface ValidationDeps {
  store: EventStore;
  dataKeys: DataKeys;
  secrets: Secrets;
  now: Clock;
  watchDelivery: WatchDelivery;
  /** TESSERA_DELIVERY_WAIT_MS */
  deliveryWaitMs: number;
  /** TESSERA_TOKEN_MAX_FAILURES */
  maxFailures: number;
  log: Logger;
  /** Who holds a v2 access token, as the Authenticate call answers (M_UNAUTHORIZED when nobody). */
  authenticate: (token: string) => Promise<AuthenticateResponse>;
}

type Handler<Req, Res> = (request: Req) => Promise<Res>;

export interface ValidationHandlers {
  requestToken: Handler<RequestTokenRequest, RequestTokenResponse>;
  submitToken: Handler<SubmitTokenRequest, SubmitTokenResponse>;
  getValidated3Pid: Handler<GetValidated3pidRequest, GetValidated3pidResponse>;
}

export function validationHandlers(deps: ValidationDeps): ValidationHandlers {
  const { store, dataKeys, secrets, now, watchDelivery, deliveryWaitMs, maxFailures, log, authenticate } = deps;
  const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

  return {
    requestToken: async (request) => {
      // v2: the gateway sends the caller's token along instead of asking Authenticate first.
      if (request.accessToken !== '' && !(await authenticate(request.accessToken)).termsAccepted)
        throw termsNotSigned();
      let plan = planRequestToken(request, deps);
      let watch = watchDelivery(plan.deliveryId); // before the append: the outcome may follow at once
      let issued: boolean;
      try {
        const handled = await handleCommand(store, sessionSubject(plan.sid), storedSessions, plan.command).catch(
          (err: unknown) => {
            if (!(err instanceof ImportedElsewhere)) throw err;
            // Its session was imported under the other server's sid: it goes on there, as it would have.
            watch.stop();
            plan = planRequestToken(request, deps, err.importedSid);
            watch = watchDelivery(plan.deliveryId);
            return handleCommand(store, sessionSubject(plan.sid), storedSessions, plan.command);
          },
        );
        issued = handled.events.some((event) => event.type === 'TokenIssued');
      } catch (err) {
        watch.stop();
        throw err;
      }
      const { sid, deliveryId, medium } = plan;
      if (!issued) {
        watch.stop();
        log.debug({ sid }, 'send_attempt used already: nothing sent');
        return { sid };
      }
      log.info({ sid, deliveryId, medium }, 'token issued; waiting for its delivery');

      const outcome = await watch.outcome(deliveryWaitMs);
      switch (outcome.status) {
        case 'sent':
          return { sid };
        case 'failed':
          log.warn({ sid, deliveryId, refused: outcome.refused }, 'the notifier could not deliver');
          throw sendError(medium, outcome.reason);
        case 'pending':
          // The token is issued and the notifier may still deliver it: the client gets its sid.
          log.warn({ sid, deliveryId, waitMs: deliveryWaitMs }, 'no delivery outcome in time');
          return { sid };
      }
    },

    submitToken: async (request) => {
      const sid = parseSid(request.sid);
      const clientSecretDigest = secrets.digest('client_secret', parseClientSecret(request.clientSecret));
      const tokenDigest = secrets.digest('token', parseValidationToken(request.token));
      // A spec-valid sid this service cannot have made matches no session, like an unknown one.
      if (!isStorableSid(sid)) throw noValidSession();
      const command: SessionCommand = { type: 'SubmitToken', clientSecretDigest, tokenDigest, maxFailures, now: now() };
      const { events, state } = await handleCommand(store, sessionSubject(sid), storedSessions, command);
      const refusal = refusalOf(events);
      if (refusal !== null) throw refusal; // remembered first: it counts towards the lockout
      const sealedNextLink = state.status === 'none' ? null : state.sealedNextLink;
      const nextLink =
        sealedNextLink && (await dataKeys.openField(sessionAggregate(sid), SEALED.nextLink, sealedNextLink));
      return { success: true, nextLink: text(nextLink ?? null) ?? '' };
    },

    getValidated3Pid: async (request) => {
      const sid = parseSid(request.sid);
      const clientSecretDigest = secrets.digest('client_secret', parseClientSecret(request.clientSecret));
      if (!isStorableSid(sid)) throw noValidSession();
      const { state } = await loadState(store, sessionSubject(sid), storedSessions);
      const validated = validatedThreepid(state, clientSecretDigest, now());
      const { medium, sealedAddress, sealedClientLowercaseAddress, validatedAt } = validated;
      const open = async (field: string, sealed: Sealed | null) =>
        sealed === null ? null : text(await dataKeys.openField(sessionAggregate(sid), field, sealed));
      const address = await open(SEALED.address, sealedAddress);
      if (address === null) throw noValidSession(); // its data key was erased: it proves nothing any more
      // Sealed with the same key as the address: it opens whenever the address does.
      const clientLowercaseAddress = (await open(SEALED.clientLowercaseAddress, sealedClientLowercaseAddress)) ?? '';
      return { medium: mediumToGrpc(medium), address, validatedAt: validatedAt.getTime(), clientLowercaseAddress };
    },
  };
}

/** The notifier's reason is safe to show (it names no address or token). */
function sendError(medium: Medium, reason: string): TesseraError {
  const because = reason === '' ? '' : `: ${reason}`;
  return medium === 'email'
    ? new TesseraError('M_EMAIL_SEND_ERROR', `Failed to send the email${because}`)
    : new TesseraError('M_SEND_ERROR', `Failed to send the SMS${because}`);
}

import { type EventStore, handleCommand } from '@tessera/event-store';
import type {
  AcceptTermsRequest,
  AcceptTermsResponse,
  GetTermsRequest,
  GetTermsResponse,
} from '@tessera/proto/tessera/session/v1/session';
import type { Secrets } from '@tessera/server-secret';
import type { Clock } from '@tessera/service-kit';
import type { AggregateCache } from '../aggregate-cache.js';
import { termsSubject } from '../aggregates.js';
import type * as terms from '../domain/terms.js';
import type { TermsDocument } from '../terms-file.js';
import { checkUserId } from './request-checks.js';
import { userAcceptances } from './terms-history.js';

export interface TermsDeps {
  store: EventStore;
  /** userKey: the terms subject, and how an acceptance names its user. */
  secrets: Secrets;
  terms: TermsDocument;
  now: Clock;
  /** What Authenticate reads; an acceptance drops the user's entry. */
  termsStates: AggregateCache<terms.Terms>;
}

type Handler<Req, Res> = (request: Req) => Promise<Res>;

export interface TermsHandlers {
  getTerms: Handler<GetTermsRequest, GetTermsResponse>;
  acceptTerms: Handler<AcceptTermsRequest, AcceptTermsResponse>;
}

export function termsHandlers({ store, secrets, terms: document, now, termsStates }: TermsDeps): TermsHandlers {
  return {
    getTerms: async () => ({ policiesJson: document.policiesJson }),

    // The user is the gateway's authenticated account holder; POST /terms has no terms check.
    acceptTerms: async (request) => {
      const userId = checkUserId(request.userId);
      const userKey = secrets.userKey(userId);
      const command: terms.TermsCommand = {
        type: 'AcceptTerms',
        userKey,
        urls: request.userAccepts,
        policies: document.policies,
        now: now(),
      };
      const subject = termsSubject(userKey);
      try {
        await handleCommand(store, subject, await userAcceptances(store, userId), command);
      } finally {
        termsStates.invalidate(subject); // at once here; other replicas drop it when the append reaches them
      }
      return {};
    },
  };
}

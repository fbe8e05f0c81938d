// The policies a user accepted (`tessera.terms.<userKey>`, the keyed pseudonym of the user ID).
// Acceptances only add up: a client posts the URLs the user accepted now, never necessarily the full set.
import { TesseraError } from '@tessera/errors';
import type { Decider } from '@tessera/event-store';

/** A current policy: its version and the URLs of its documents, one per language. */
export type Policy = { id: string; version: string; urls: readonly string[] };

/** `userKey` is empty in events written before user IDs were sealed (they named the user in plaintext). */
export type TermsEvent = { type: 'TermsAccepted'; data: { userKey: string; urls: string[]; at: Date } };

export type TermsCommand =
  | {
      type: 'AcceptTerms';
      userKey: string;
      urls: readonly string[];
      policies: readonly Policy[];
      now: Date;
    }
  | {
      /**
       * What the user accepted on the server imported from (the admin API's `import/terms`): any
       * URL, current or not, since that history may name older policies; allAccepted decides, as
       * for every acceptance, whether the current ones are covered.
       */
      type: 'ImportAcceptances';
      userKey: string;
      urls: readonly string[];
      now: Date;
    };

export type Terms = { acceptedUrls: ReadonlySet<string> };

export const initial = (): Terms => ({ acceptedUrls: new Set() });

// An unknown URL is named in the answer (it is what the client sent), cut short and quoted.
const MAX_URL_IN_MESSAGE = 200;

export function evolve(state: Terms, event: TermsEvent): Terms {
  switch (event.type) {
    case 'TermsAccepted':
      return { acceptedUrls: new Set([...state.acceptedUrls, ...event.data.urls]) };
  }
}

export function decide(command: TermsCommand, state: Terms): TermsEvent[] {
  switch (command.type) {
    case 'AcceptTerms': {
      const known = new Set(command.policies.flatMap((policy) => policy.urls));
      const unknown = command.urls.find((url) => !known.has(url));
      if (unknown !== undefined)
        throw new TesseraError(
          'M_INVALID_PARAM',
          `not the URL of a current policy: ${JSON.stringify(unknown.slice(0, MAX_URL_IN_MESSAGE))}`,
        );
      return acceptedNow(command, state);
    }
    case 'ImportAcceptances':
      return acceptedNow(command, state);
  }
}

/** The URLs not accepted before, as one TermsAccepted; none when every one was. */
function acceptedNow(command: TermsCommand, state: Terms): TermsEvent[] {
  const added = [...new Set(command.urls)].filter((url) => !state.acceptedUrls.has(url));
  if (added.length === 0) return [];
  return [{ type: 'TermsAccepted', data: { userKey: command.userKey, urls: added, at: command.now } }];
}

export const termsDecider: Decider<TermsCommand, TermsEvent, Terms> = { decide, evolve, initial };

/**
 * Whether every current policy is accepted: one accepted URL of its current documents (any
 * language) is enough. A new version comes with new URLs, so older acceptances do not count for it.
 */
export function allAccepted(state: Terms, policies: readonly Policy[]): boolean {
  return policies.every((policy) => policy.urls.some((url) => state.acceptedUrls.has(url)));
}

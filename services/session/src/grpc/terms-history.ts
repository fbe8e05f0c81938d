import { type EventStore, type StoredDecider, storedDecider } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { legacyTermsSubject, termsSubject } from '../aggregates.js';
import { type Terms, type TermsCommand, type TermsEvent, termsDecider } from '../domain/terms.js';
import { storedTerms, termsCodec } from '../events/terms-events.js';

/**
 * Acceptances a data directory holds from before terms subjects were keyed: still the user's, so
 * still counted; never added to.
 */
export async function loadLegacyAcceptances(store: EventStore, userId: string): Promise<Event[]> {
  return (await store.load(legacyTermsSubject(userId))).events;
}

/** Every acceptance of a user, the older ones (under the unkeyed subject) first. */
export async function loadAcceptances(
  store: EventStore,
  { userId, userKey }: { userId: string; userKey: string },
): Promise<Event[]> {
  const [legacy, current] = await Promise.all([
    loadLegacyAcceptances(store, userId),
    store.load(termsSubject(userKey)),
  ]);
  return [...legacy, ...current.events];
}

/**
 * The user's terms aggregate (`tessera.terms.<userKey>`) to decide an acceptance on: it starts from
 * the acceptances under the unkeyed subject, read once, since those are never appended to.
 */
export async function userAcceptances(
  store: EventStore,
  userId: string,
): Promise<StoredDecider<TermsCommand, TermsEvent, Terms>> {
  const older = storedTerms.stateOf(await loadLegacyAcceptances(store, userId));
  return storedDecider({ ...termsDecider, initial: () => older }, termsCodec);
}

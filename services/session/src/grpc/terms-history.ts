import type { EventStore } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { legacyTermsSubject, termsSubject } from '../aggregates.js';

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

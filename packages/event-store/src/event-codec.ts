import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { type EventPayload, newEvent } from './events.js';

/** A domain event: its type, and its data with the time it happened (the stored event's `occurredAt`). */
export type TimedEvent = { type: string; data: { at: Date } };

/** An aggregate's domain events on the wire (tessera.events.v1) and back. */
export type EventCodec<E> = {
  toStoredEvent(event: E): Event;
  /** This aggregate's events in a stored history, oldest first; events of other kinds are skipped. */
  fromStoredEvents(events: readonly Event[]): E[];
};

// Every writer sets occurredAt; a stored event without one still reads, at the epoch.
const UNKNOWN_TIME = new Date(0);

/**
 * A codec from the two mappings that are an aggregate's own: a domain event to its payload, and a
 * stored payload (with its time) back to a domain event, or to null when it is none of this
 * aggregate's or lacks a field every writer sets (it is skipped).
 */
export function eventCodec<E extends TimedEvent>(mapping: {
  toPayload(event: E): EventPayload;
  fromPayload(payload: EventPayload, at: Date): E | null;
}): EventCodec<E> {
  return {
    toStoredEvent: (event) => newEvent(mapping.toPayload(event), event.data.at),
    fromStoredEvents: (events) =>
      events.flatMap((event) => {
        if (event.payload === undefined) return [];
        const decoded = mapping.fromPayload(event.payload, event.occurredAt ?? UNKNOWN_TIME);
        return decoded === null ? [] : [decoded];
      }),
  };
}

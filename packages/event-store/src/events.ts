import { randomUUID } from 'node:crypto';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';

export type EventPayload = NonNullable<Event['payload']>;
export type EventPayloadCase = EventPayload['$case'];

/**
 * The event's type is its payload's message name. ts-proto names each oneof case after the
 * field (`key_created` → `keyCreated`), and every payload field is named after its message in
 * snake_case (a test checks envelope.proto for it), so upper-casing the first letter gives it.
 */
export function eventTypeOf(payloadCase: EventPayloadCase): string {
  return payloadCase.charAt(0).toUpperCase() + payloadCase.slice(1);
}

/** An event with a fresh id; `occurredAt` comes from the caller's clock, as deciders take no clock. */
export function newEvent(payload: EventPayload, occurredAt: Date): Event {
  return { eventId: randomUUID(), type: eventTypeOf(payload.$case), occurredAt, payload };
}

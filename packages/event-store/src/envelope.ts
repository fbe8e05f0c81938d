import { isCorrelationId } from '@tessera/correlation';
import { Envelope, type Event } from '@tessera/proto/tessera/events/v1/envelope';
import { headers, type MsgHdrs } from 'nats';

/** The version of the envelope layout in tessera.events.v1. */
export const SCHEMA_VERSION = 1;

/** Headers of every stored decision; consumers filter on them without decoding the payload. */
export const HEADER = {
  eventTypes: 'Tessera-Event-Types',
  aggregate: 'Tessera-Aggregate',
  correlationId: 'Tessera-Correlation-Id',
  // The aggregate's sequence this decision was appended after (0 for its first). NATS enforced it
  // as the expected last subject sequence, so loads can walk an aggregate backwards by exact
  // sequence instead of scanning the stream for its subject.
  previousSeq: 'Tessera-Previous-Seq',
} as const;

const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9]*$/;

export type Decision = {
  decisionId: string;
  aggregate: string;
  correlationId: string;
  recordedAt: Date;
  events: Event[];
};

export function toEnvelope(decision: Decision): Envelope {
  if (decision.events.length === 0) throw new TypeError('a decision needs at least one event');
  if (!isCorrelationId(decision.correlationId))
    throw new TypeError('correlationId must be 1 to 128 printable ASCII characters');
  for (const event of decision.events)
    if (!EVENT_TYPE.test(event.type) || event.payload === undefined)
      throw new TypeError(`event ${event.eventId} needs a type and a payload (use newEvent)`);
  return { ...decision, schemaVersion: SCHEMA_VERSION };
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return Envelope.encode(envelope).finish();
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return Envelope.decode(bytes);
}

/** Distinct event types in the order they first occur. */
export function eventTypesOf(events: readonly Event[]): string[] {
  return [...new Set(events.map((event) => event.type))];
}

export function decisionHeaders(envelope: Envelope, previousSeq: number): MsgHdrs {
  const h = headers();
  h.set(HEADER.eventTypes, eventTypesOf(envelope.events).join(','));
  h.set(HEADER.aggregate, envelope.aggregate);
  h.set(HEADER.correlationId, envelope.correlationId);
  h.set(HEADER.previousSeq, String(previousSeq));
  return h;
}

/** The event types a stored message announces; null when it has no such header (not written by us). */
export function announcedEventTypes(h: MsgHdrs | undefined): string[] | null {
  const value = h?.get(HEADER.eventTypes);
  return value ? value.split(',') : null;
}

import type { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import { addEvent, type HourlyCounts } from './event-counts.js';
import { type IdentifierKind, identifierKindOf, stringsOf } from './identifier-scan.js';

/** What one pass over the stream found. */
export interface StreamReport {
  messages: number;
  events: number;
  counts: HourlyCounts;
  /** Distinct `EventType.field` paths holding strings: what analytics can read at all. */
  stringFields: Set<string>;
  /** Strings that look like a person's identifier, by kind, with where they were (never the value). */
  identifiers: { kind: IdentifierKind; field: string; seq: number }[];
}

export function emptyReport(): StreamReport {
  return { messages: 0, events: 0, counts: new Map(), stringFields: new Set(), identifiers: [] };
}

/** Adds one stored decision (one message) to the report. */
export function addEnvelope(report: StreamReport, seq: number, envelope: Envelope): void {
  report.messages++;
  const inspect = (field: string, value: unknown) => {
    for (const found of stringsOf(value)) {
      const path = found.path === '' ? field : `${field}.${found.path}`;
      report.stringFields.add(path);
      const kind = identifierKindOf(found.value, path);
      if (kind !== null) report.identifiers.push({ kind, field: path, seq });
    }
  };
  inspect('envelope.aggregate', envelope.aggregate);
  inspect('envelope.correlationId', envelope.correlationId);
  for (const event of envelope.events) {
    report.events++;
    const at = event.occurredAt ?? envelope.recordedAt ?? new Date(0);
    addEvent(report.counts, { type: event.type, at });
    inspect(event.type, event.payload?.value);
  }
}

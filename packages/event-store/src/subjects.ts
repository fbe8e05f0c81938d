/** Every subject of the event store starts with this token. */
export const SUBJECT_PREFIX = 'tessera';

/**
 * Which stream keeps each aggregate type: short-lived facts (sessions and their deliveries) age
 * out; lasting facts are kept forever. The single place that knows the subject layout.
 */
export const STREAM_OF_AGGREGATE = {
  session: 'TESSERA_SHORT',
  delivery: 'TESSERA_SHORT',
  assoc: 'TESSERA_EVENTS',
  invite: 'TESSERA_EVENTS',
  onbind: 'TESSERA_EVENTS',
  // The notifier's attempts at one onbind call: kept as long as the call, which may take days.
  onbind_delivery: 'TESSERA_EVENTS',
  // Batches of ephemeral public keys imported from Sydent (the invite service's).
  ephemeral_keys: 'TESSERA_EVENTS',
  account: 'TESSERA_EVENTS',
  terms: 'TESSERA_EVENTS',
  key: 'TESSERA_EVENTS',
  pepper: 'TESSERA_EVENTS',
} as const;

export type AggregateType = keyof typeof STREAM_OF_AGGREGATE;
export type StreamName = (typeof STREAM_OF_AGGREGATE)[AggregateType];

export const AGGREGATE_TYPES = Object.keys(STREAM_OF_AGGREGATE) as AggregateType[];

const MAX_ID_LENGTH = 255;
// Printable ASCII only: narrower than what NATS allows (any UTF-8 but separators, wildcards and
// whitespace), so that an id is also safe in headers, KV keys and log lines.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const SEPARATOR_OR_WILDCARD = /[.*>]/;

export class InvalidSubject extends Error {
  override readonly name = 'InvalidSubject';
}

export function isAggregateType(value: string): value is AggregateType {
  return Object.hasOwn(STREAM_OF_AGGREGATE, value);
}

/** Throws unless `id` can stand as one subject token: no `.`, `*`, `>`, whitespace or control characters. */
export function assertAggregateId(id: string): void {
  if (id.length === 0 || id.length > MAX_ID_LENGTH)
    throw new InvalidSubject(`aggregate id must have 1 to ${MAX_ID_LENGTH} characters`);
  if (SEPARATOR_OR_WILDCARD.test(id) || !PRINTABLE_ASCII.test(id))
    throw new InvalidSubject('aggregate id must be printable ASCII without ".", "*", ">" or whitespace');
}

/** `tessera.<type>.<id>`: the subject of one aggregate instance. */
export function subjectOf(type: AggregateType, id: string): string {
  if (!isAggregateType(type)) throw new InvalidSubject(`unknown aggregate type ${JSON.stringify(type)}`);
  assertAggregateId(id);
  return `${SUBJECT_PREFIX}.${type}.${id}`;
}

export type ParsedSubject = { type: AggregateType; id: string; aggregate: string };

/** The inverse of subjectOf; `aggregate` is `<type>.<id>`, as written in the envelope. */
export function parseSubject(subject: string): ParsedSubject {
  const first = subject.indexOf('.');
  const second = subject.indexOf('.', first + 1);
  const prefix = subject.slice(0, first);
  const type = subject.slice(first + 1, second);
  const id = subject.slice(second + 1);
  if (first < 0 || second < 0 || prefix !== SUBJECT_PREFIX || !isAggregateType(type))
    throw new InvalidSubject(`not an aggregate subject: ${JSON.stringify(subject)}`);
  assertAggregateId(id);
  return { type, id, aggregate: `${type}.${id}` };
}

export function streamOf(type: AggregateType): StreamName {
  return STREAM_OF_AGGREGATE[type];
}

/** The filter subjects (`tessera.<type>.>`) a stream holds. */
export function subjectsOfStream(stream: StreamName): string[] {
  return AGGREGATE_TYPES.filter((type) => STREAM_OF_AGGREGATE[type] === stream).map(
    (type) => `${SUBJECT_PREFIX}.${type}.>`,
  );
}

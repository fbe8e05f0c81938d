import { randomUUID } from 'node:crypto';
import { correlationIdForNow } from '@tessera/correlation';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { inSpan, SpanKind } from '@tessera/tracing';
import type { JetStreamClient, NatsConnection } from 'nats';
import { getBySeq, getLastForSubject, getNextForSubject, type StoredMessage } from './direct-get.js';
import { decisionHeaders, decodeEnvelope, encodeEnvelope, HEADER, toEnvelope } from './envelope.js';
import { asStoreError, ConcurrencyConflict, isUnavailable, isWrongLastSequence, StoreUnavailable } from './errors.js';
import { parseSubject, streamOf } from './subjects.js';
import { addTraceContext } from './trace-headers.js';

const DEFAULT_TIMEOUT_MS = 2_000;
// A publish whose ack timed out is re-sent with the same message id: NATS stores it at most once.
const MAX_PUBLISH_ATTEMPTS = 2;
const PUBLISH_RETRY_DELAY_MS = 100;

export type EventStoreOptions = {
  /** Per NATS request: each direct get, each publish attempt. */
  timeoutMs?: number;
};

export type LoadedAggregate = {
  /** Every event of every decision on the subject, oldest first. */
  events: Event[];
  /** Stream sequence of the subject's last message; 0 when it has none. */
  lastSeq: number;
};

export type AppendOptions = {
  /** The aggregate's `lastSeq` when it was loaded; 0 means it must not exist yet. */
  expectedSeq: number;
  /** The request or event this decision answers; the current one (see @tessera/correlation) when absent. */
  correlationId?: string;
  /** Makes a re-sent append idempotent; a fresh UUID when absent. */
  decisionId?: string;
};

/**
 * Loads and appends aggregates, one subject each (`tessera.<type>.<id>`). The stream of a subject
 * comes from the subject map, so neither call asks the server where a subject lives. Commands
 * go through handleCommand, which loads, decides and appends with these two.
 */
export class EventStore {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #timeoutMs: number;

  constructor(nc: NatsConnection, { timeoutMs = DEFAULT_TIMEOUT_MS }: EventStoreOptions = {}) {
    this.#nc = nc;
    this.#js = nc.jetstream({ timeout: timeoutMs });
    this.#timeoutMs = timeoutMs;
  }

  async load(subject: string): Promise<LoadedAggregate> {
    const stream = streamOf(parseSubject(subject).type);
    try {
      const messages = await this.#readSubject(stream, subject);
      return {
        events: messages.flatMap((message) => decodeEnvelope(message.data).events),
        lastSeq: messages.at(-1)?.seq ?? 0,
      };
    } catch (err) {
      throw asStoreError(err, `load ${subject}`);
    }
  }

  /** Appends one decision as one message; returns its stream sequence. */
  async append(subject: string, events: Event[], options: AppendOptions): Promise<number> {
    const { type } = parseSubject(subject);
    // Named by the aggregate's type only: the subject's id may be a keyed digest of an address.
    const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': `tessera.${type}` };
    return inSpan(`append tessera.${type}`, { kind: SpanKind.PRODUCER, attributes }, () =>
      this.#append(subject, events, options),
    );
  }

  async #append(subject: string, events: Event[], options: AppendOptions): Promise<number> {
    const { aggregate } = parseSubject(subject);
    const { expectedSeq, correlationId = correlationIdForNow(), decisionId = randomUUID() } = options;
    if (!Number.isSafeInteger(expectedSeq) || expectedSeq < 0)
      throw new RangeError('expectedSeq must be a non-negative integer');
    const envelope = toEnvelope({ decisionId, aggregate, correlationId, recordedAt: new Date(), events });
    const payload = encodeEnvelope(envelope);
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.#js.publish(subject, payload, {
          msgID: decisionId, // checked before the expectation, so a re-sent publish gets the original ack
          expect: { lastSubjectSequence: expectedSeq }, // sent even when 0: the subject must then be empty
          headers: addTraceContext(decisionHeaders(envelope, expectedSeq)),
          timeout: this.#timeoutMs,
        });
        return ack.seq;
      } catch (err) {
        if (isWrongLastSequence(err)) throw new ConcurrencyConflict(subject, expectedSeq, { cause: err });
        if (!isUnavailable(err)) throw err;
        if (attempt >= MAX_PUBLISH_ATTEMPTS)
          throw new StoreUnavailable(`append to ${subject}: ${(err as Error).message}`, { cause: err });
        await delay(PUBLISH_RETRY_DELAY_MS);
      }
    }
  }

  // Walks the aggregate backwards from its last message along the previous-sequence header: one
  // exact-sequence read per decision, whatever the stream's size. Where that chain breaks (a
  // message not written by append, a message deleted or aged out) whatever is left of the subject
  // before it is scanned forwards instead.
  async #readSubject(stream: string, subject: string): Promise<StoredMessage[]> {
    const last = await getLastForSubject(this.#nc, stream, subject, this.#timeoutMs);
    if (last === null) return [];
    const newestFirst = [last];
    for (let message = last; ; ) {
      const previous = previousSeqOf(message);
      if (previous === 0) break;
      const found = previous === null ? undefined : await getBySeq(this.#nc, stream, previous, this.#timeoutMs);
      if (found === undefined || found === null || found.subject !== subject) {
        newestFirst.push(...(await this.#scanForwards(stream, subject, message.seq)).reverse());
        break;
      }
      newestFirst.push(found);
      message = found;
    }
    return newestFirst.reverse();
  }

  async #scanForwards(stream: string, subject: string, beforeSeq: number): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    for (let from = 1; ; ) {
      const next = await getNextForSubject(this.#nc, stream, subject, from, this.#timeoutMs);
      if (next === null || next.seq >= beforeSeq) return messages;
      messages.push(next);
      from = next.seq + 1;
    }
  }
}

function previousSeqOf(message: StoredMessage): number | null {
  const value = message.headers.get(HEADER.previousSeq);
  if (value === '') return null;
  const seq = Number(value);
  return Number.isSafeInteger(seq) && seq >= 0 && seq < message.seq ? seq : null;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { announcedEventTypes, decodeEnvelope, eventTypesOf, type Logger } from '@tessera/event-store';
import type { Kysely, Transaction } from 'kysely';
import type { JsMsg } from 'nats';
import type { Database } from '../schema.js';
import { lockCheckpoint, moveCheckpoint } from './checkpoint.js';
import type { ProjectedMessage, Projection } from './projection.js';

/** Where the consumer was last positioned: right after this checkpoint, with nothing applied since. */
export type Position = { after: number; appliedSince: boolean };

export type BatchOutcome = {
  /** The checkpoint after the batch. */
  lastSeq: number;
  /** Messages applied (their sequences are now covered by the checkpoint), decoded or passed over. */
  applied: number;
  /** Messages at or below the checkpoint already: redeliveries, left alone. */
  skipped: number;
  /**
   * The message to ack: acking it (AckPolicy.All) acknowledges every delivered message up to it,
   * all of them applied now or before. Null when nothing of the batch may be acked.
   */
  ackUpTo: JsMsg | null;
  /**
   * A message is missing between the checkpoint and the batch (lost in flight, a redelivery that
   * has not come back yet, a checkpoint set back by a reset): the consumer must be positioned again
   * right after the checkpoint. What came before the gap is applied.
   */
  gap: boolean;
};

/**
 * Applies a batch in one transaction with the checkpoint row locked: skips what the checkpoint
 * already covers, applies the run of messages that follows it without a gap, and moves the
 * checkpoint to the last of them. A throw rolls everything back and nothing may be acked.
 *
 * Stream sequences of a consumer on the whole stream follow each other without gaps (TESSERA_EVENTS
 * can neither delete nor purge), so a message is next exactly when its sequence is the checkpoint
 * plus one. The one exception is the first message after the consumer was positioned: it is the
 * first one the stream still has after the checkpoint.
 */
export async function applyBatch<DB extends Database, P>(
  db: Kysely<DB>,
  projection: Projection<DB, P>,
  batch: readonly JsMsg[],
  position: Position,
  log: Logger,
  ready: PreparedBatch<P> = prepareBatch(projection, batch, log),
): Promise<BatchOutcome> {
  // Before the transaction: it holds the checkpoint row's lock, which no key fetch should wait under.
  const prepared = await ready.prepared;
  return (db as unknown as Kysely<Database>).transaction().execute(async (trx) => {
    const checkpoint = await lockCheckpoint(trx, projection.name);
    const run: JsMsg[] = [];
    let skipped = 0;
    let gap = false;
    let expected = checkpoint + 1;
    for (const msg of batch) {
      if (msg.seq < expected) {
        skipped++; // covered by the checkpoint, or earlier in this batch: a redelivery
        continue;
      }
      const firstSincePositioned = run.length === 0 && !position.appliedSince && position.after === checkpoint;
      if (msg.seq !== expected && !firstSincePositioned) {
        gap = true;
        break;
      }
      run.push(msg);
      expected = msg.seq + 1;
    }
    const last = run.at(-1);
    if (last === undefined) {
      // Only redeliveries (ack the newest of them), or a gap right after the checkpoint (ack nothing).
      const newestCovered = gap ? null : highestSeq(batch);
      return { lastSeq: checkpoint, applied: 0, skipped, ackUpTo: newestCovered, gap };
    }
    const projected = run.map((msg) => ready.decoded.get(msg)).filter((msg) => msg !== null && msg !== undefined);
    if (projected.length > 0) await projection.project(projected, trx as unknown as Transaction<DB>, prepared);
    await moveCheckpoint(trx, projection.name, last.seq);
    return { lastSeq: last.seq, applied: run.length, skipped, ackUpTo: last, gap };
  });
}

/** A batch decoded, and the projection's `prepare` of it under way. */
export type PreparedBatch<P> = {
  /** Each message decoded, or null when the projection takes none of its event types or it does not decode. */
  decoded: ReadonlyMap<JsMsg, ProjectedMessage | null>;
  prepared: Promise<P>;
};

/**
 * Decodes the batch and starts the projection's `prepare` on it: needs no transaction, so the
 * runner does it for the next batch while the current one is applied. A failed `prepare` rejects
 * `prepared` (handled here, so that a batch dropped before it is applied leaves no unhandled rejection).
 */
export function prepareBatch<DB extends Database, P>(
  projection: Projection<DB, P>,
  batch: readonly JsMsg[],
  log: Logger,
): PreparedBatch<P> {
  const decoded = new Map(batch.map((msg) => [msg, projectedMessage(msg, projection, log)] as const));
  const messages = [...decoded.values()].filter((msg) => msg !== null);
  const prepared =
    projection.prepare === undefined || messages.length === 0
      ? Promise.resolve(undefined as P)
      : projection.prepare(messages);
  prepared.catch(() => {});
  return { decoded, prepared };
}

function highestSeq(batch: readonly JsMsg[]): JsMsg | null {
  return batch.reduce<JsMsg | null>((high, msg) => (high === null || msg.seq > high.seq ? msg : high), null);
}

/** The message decoded, or null when the projection takes none of its event types or it does not decode. */
function projectedMessage<DB extends Database, P>(
  msg: JsMsg,
  projection: Projection<DB, P>,
  log: Logger,
): ProjectedMessage | null {
  const wanted = projection.eventTypes;
  const announced = announcedEventTypes(msg.headers);
  if (wanted && announced && !announced.some((type) => wanted.includes(type))) return null;
  let envelope: ProjectedMessage['envelope'];
  try {
    envelope = decodeEnvelope(msg.data);
  } catch (err) {
    // It will not decode on a replay either: passing over it keeps the projection moving, and a
    // rebuild passes over it the same way.
    log.error(
      { projection: projection.name, seq: msg.seq, err: (err as Error).message },
      'undecodable message passed over',
    );
    return null;
  }
  const eventTypes = announced ?? eventTypesOf(envelope.events);
  if (wanted && !eventTypes.some((type) => wanted.includes(type))) return null;
  return { seq: msg.seq, subject: msg.subject, envelope, eventTypes, timestampMs: msg.info.timestampNanos / 1e6 };
}

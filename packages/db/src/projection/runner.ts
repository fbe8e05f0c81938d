import type { Logger } from '@tessera/event-store';
import type { Kysely } from 'kysely';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  ErrorCode,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  NatsError,
  nanos,
} from 'nats';
import { Registry } from 'prom-client';
import type { Database } from '../schema.js';
import { applyBatch, type BatchOutcome, type Position, type PreparedBatch, prepareBatch } from './apply-batch.js';
import { BatchReader } from './batch-reader.js';
import { startBatchSpans } from './batch-spans.js';
import { ensureCheckpoint, resetProjection } from './checkpoint.js';
import { projectionMetrics } from './metrics.js';
import type { Projection } from './projection.js';

const CONSUMER_NOT_FOUND = 10014; // JetStream API err_code
// How long each pull request waits on the server; a consumer that disappears is noticed within it.
const PULL_EXPIRES_MS = 10_000;
const MAX_RETRY_DELAY_MS = 30_000;

export type ProjectionRunnerOptions<DB extends Database, P = undefined> = {
  nc: NatsConnection;
  db: Kysely<DB>;
  /** The stream, read whole (no subject filter: sequences then follow each other without gaps). */
  stream: string;
  /** The durable consumer the runner owns: it deletes and creates it to position it after the checkpoint. */
  durable: string;
  projection: Projection<DB, P>;
  /** Most messages in one transaction. Default 500. */
  batchSize?: number;
  /** Once a batch has its first message, how long it waits for more before it is applied. Default 5 ms. */
  lingerMs?: number;
  /** Delivered messages not acked within this come again (and are skipped if applied). Default 30 s. */
  ackWaitMs?: number;
  /** Pause before a failed batch is tried again, by attempt; 1 s doubling up to 30 s by default. */
  retryDelayMs?: (attempt: number) => number;
  /** Where the lag gauge and the counters go (the service's registry). */
  registry?: Registry;
  log: Logger;
};

export type RunningProjection = {
  /** Stops taking messages and lets the batch in progress commit (or roll back); nothing more is acked. */
  stop(): Promise<void>;
  /** Settles when the runner stops: by stop(), or when its NATS connection closed for good. */
  done: Promise<void>;
  /** The last applied sequence as this runner knows it (after its last commit). */
  checkpoint(): number;
  /** The stream's last sequence minus the checkpoint. */
  lag(): Promise<number>;
  /**
   * Empties the projection's tables and sets its checkpoint to 0 in one transaction, then replays
   * the stream from its start; resolves once the reset is committed (the replay follows).
   */
  rebuild(): Promise<void>;
  /** For /readyz: attached to its consumer and not failing on a batch. */
  readiness: { readonly name: string; isReady(): boolean };
};

const defaultRetryDelayMs = (attempt: number) => Math.min(1_000 * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);

/**
 * Builds a projection from a stream: takes batches from a durable consumer, applies each in one
 * PostgreSQL transaction together with the checkpoint (its last applied sequence), commits, then
 * acks. A redelivered message at or below the checkpoint is skipped, so every message has its effect
 * exactly once, whatever is delivered again after a crash between commit and ack. The consumer is
 * positioned right after the checkpoint whenever the runner (re)attaches, and again when a
 * message is found missing, so nothing is passed over. A failed batch is rolled back, not acked,
 * and tried again after a pause, before anything later: order is kept.
 *
 * One runner per projection at a time: a second one on the same durable would reposition it under
 * the first (the checkpoint lock keeps the rows right, but both would keep starting over).
 */
export async function runProjection<DB extends Database, P = undefined>(
  options: ProjectionRunnerOptions<DB, P>,
): Promise<RunningProjection> {
  const { nc, db, stream, durable, projection, log } = options;
  const { batchSize = 500, lingerMs = 5, ackWaitMs = 30_000, retryDelayMs = defaultRetryDelayMs } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  const name = projection.name;
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const checkpoints = db as unknown as Kysely<Database>;
  let checkpoint = await ensureCheckpoint(checkpoints, name, stream);

  let stopping = false;
  let attached = false;
  let failing = false;
  let messages: ConsumerMessages | undefined;
  let rebuilds: { resolve(): void; reject(err: unknown): void }[] = [];
  let wake: (() => void) | undefined;
  // A pause that stop() and rebuild() cut short.
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(woken, ms);
      wake = woken;
      function woken() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
    });
  const interrupt = () => {
    messages?.stop();
    wake?.();
  };

  const lag = async () => Math.max(0, (await jsm.streams.info(stream)).state.last_seq - checkpoint);
  const metrics = projectionMetrics(options.registry ?? new Registry(), { name, lag });

  /** Applies the batch, trying again after a pause until it commits; null when stopped meanwhile. */
  const applyUntilDone = async (
    batch: JsMsg[],
    position: Position,
    ready: PreparedBatch<P>,
  ): Promise<BatchOutcome | null> => {
    for (let attempt = 1; ; attempt++) {
      const spans = startBatchSpans(name, batch);
      try {
        // A failed try prepares again: what failed may have been the preparing (a key fetch).
        const outcome = await applyBatch(db, projection, batch, position, log, attempt === 1 ? ready : undefined);
        spans.end();
        if (failing) log.info({ projection: name, attempts: attempt }, 'projection batch applied after failures');
        failing = false;
        return outcome;
      } catch (err) {
        spans.end(err);
        failing = true;
        metrics.failedBatches.inc({ projection: name });
        const from = batch[0]?.seq;
        const to = batch.at(-1)?.seq;
        log.error(
          { projection: name, from, to, attempt, err: (err as Error)?.message ?? String(err) },
          'projection batch rolled back; trying it again',
        );
        if (stopping || rebuilds.length > 0) return null;
        await pause(retryDelayMs(attempt));
        if (stopping || rebuilds.length > 0) return null;
      }
    }
  };

  /** The next batch, decoded and its preparing under way; null once the subscription has ended. */
  const nextPrepared = async (reader: BatchReader) => {
    const batch = await reader.next(batchSize, lingerMs);
    return batch === null ? null : { batch, ready: prepareBatch(projection, batch, log) };
  };
  /**
   * Batches until the subscription ends, a message is missing, or stop() or rebuild() comes. The
   * next batch is read and prepared while the current one is applied; when the loop ends, that
   * next batch is dropped unacked (its messages come again to a consumer positioned anew).
   */
  const consumeBatches = async (reader: BatchReader, position: Position): Promise<'ended' | 'gap' | 'interrupted'> => {
    let next = nextPrepared(reader);
    for (;;) {
      const current = await next;
      if (stopping || rebuilds.length > 0) return 'interrupted'; // what is in hand stays unacked
      // A batch read before the connection closed is left for the next runner: nothing could ack it.
      if (current === null || nc.isClosed()) return 'ended';
      next = nextPrepared(reader);
      next.catch(() => {}); // a read that fails after the loop ended is of no interest
      const outcome = await applyUntilDone(current.batch, position, current.ready);
      if (outcome === null) return 'interrupted';
      checkpoint = outcome.lastSeq;
      if (outcome.applied > 0) position.appliedSince = true;
      metrics.applied.inc({ projection: name }, outcome.applied);
      metrics.skipped.inc({ projection: name }, outcome.skipped);
      acknowledge(outcome.ackUpTo);
      if (outcome.gap) {
        log.warn(
          { projection: name, checkpoint },
          'a message is missing after the checkpoint; positioning the consumer again',
        );
        return 'gap';
      }
    }
  };

  // After the commit: a lost ack only means the messages come again, and are skipped.
  const acknowledge = (msg: JsMsg | null) => {
    try {
      msg?.ack();
    } catch (err) {
      log.warn(
        { projection: name, seq: msg?.seq, err: (err as Error).message },
        'ack not sent; the messages will be skipped when they come again',
      );
    }
  };

  /** Resets first if a rebuild waits, then positions the consumer right after the checkpoint and subscribes. */
  const attach = async (): Promise<ConsumerMessages> => {
    if (rebuilds.length > 0) {
      const waiting = rebuilds;
      rebuilds = [];
      try {
        await resetProjection(db, projection);
      } catch (err) {
        for (const one of waiting) one.reject(err);
        throw err;
      }
      for (const one of waiting) one.resolve();
      log.info({ projection: name, stream }, 'projection reset; replaying the stream from its start');
    }
    checkpoint = await ensureCheckpoint(checkpoints, name, stream);
    await positionConsumer(jsm, stream, durable, checkpoint, ackWaitMs, batchSize);
    const subscription = await (await js.consumers.get(stream, durable)).consume({
      max_messages: batchSize * 2,
      expires: PULL_EXPIRES_MS,
      abort_on_missing_resource: true,
    });
    log.info({ projection: name, stream, durable, checkpoint }, 'projection consuming after its checkpoint');
    return subscription;
  };

  // The first attach is not retried: a runner that cannot start throws.
  try {
    messages = await attach();
  } catch (err) {
    metrics.remove();
    throw err;
  }
  const done = (async () => {
    for (let failures = 0; !stopping; ) {
      try {
        messages ??= await attach();
        attached = true;
        failures = 0;
        const why = await consumeBatches(new BatchReader(messages), { after: checkpoint, appliedSince: false });
        if (why === 'ended' && !stopping) {
          // Its consumer or stream went away, or JetStream is unreachable: attach again after a pause.
          log.warn({ projection: name, stream, durable }, 'projection subscription ended; attaching again');
          await pause(retryDelayMs(1));
        }
      } catch (err) {
        attached = false;
        if (stopping) break;
        if (err instanceof NatsError && err.code === ErrorCode.ConnectionClosed) {
          log.error({ projection: name }, 'projection stopped: its NATS connection is closed');
          break;
        }
        failures++;
        log.error(
          { projection: name, err: (err as Error)?.message ?? String(err) },
          'projection cannot consume; trying again',
        );
        await pause(retryDelayMs(failures));
      } finally {
        attached = false;
        messages?.stop();
        messages = undefined;
      }
      if (nc.isClosed()) break;
    }
    metrics.remove();
    for (const one of rebuilds) one.reject(new Error('the projection runner stopped'));
  })();

  return {
    done,
    checkpoint: () => checkpoint,
    lag,
    rebuild: () =>
      new Promise<void>((resolve, reject) => {
        if (stopping) return reject(new Error('the projection runner is stopping'));
        rebuilds.push({ resolve, reject });
        interrupt();
      }),
    async stop() {
      stopping = true;
      interrupt();
      await done;
    },
    readiness: { name: `projection ${name}`, isReady: () => attached && !failing && !stopping },
  };
}

/**
 * Makes the durable consumer start right after `checkpoint`: deleted (with whatever it had
 * pending) and created again. AckPolicy.All: one ack per batch acknowledges all of it.
 */
async function positionConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  checkpoint: number,
  ackWaitMs: number,
  batchSize: number,
): Promise<void> {
  try {
    await jsm.consumers.delete(stream, durable);
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== CONSUMER_NOT_FOUND) throw err;
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    // The batch in hand, the one buffered behind it, and room for redeliveries.
    max_ack_pending: batchSize * 4,
    ...(checkpoint === 0
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: checkpoint + 1 }),
  });
}

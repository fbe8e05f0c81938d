import type { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
} from 'nats';
import { announcedEventTypes, decodeEnvelope, eventTypesOf } from './envelope.js';
import type { Logger } from './logger.js';

const CONSUMER_NOT_FOUND = 10014; // JetStream API err_code

export type ConsumedMessage = {
  /** Stream sequence: a handler that must not apply a message twice remembers the ones it applied. */
  seq: number;
  subject: string;
  envelope: Envelope;
  eventTypes: string[];
  /** 1 on the first delivery; more after a failure, a crash or an expired ack wait. */
  deliveryCount: number;
};

/**
 * Must be idempotent: a message is delivered again when the handler throws, when its ack is lost,
 * when the process dies before acking, or when it runs longer than `ackWaitMs`. Applying it twice
 * must change nothing (remember applied sequences, or write with keys that make a repeat a no-op).
 */
export type ConsumerHandler = (message: ConsumedMessage) => Promise<void>;

export type RunConsumerOptions = {
  stream: string;
  durable: string;
  filterSubjects: string[];
  handler: ConsumerHandler;
  /** Messages announcing none of these types are acked without being decoded or handled. */
  eventTypes?: string[];
  /** How long a delivered message may stay unacked before NATS delivers it again. Longer than any handler call. */
  ackWaitMs: number;
  /** Deliveries after which a failing message is given up (logged and terminated); unlimited by default. */
  maxDeliver?: number;
  /**
   * Messages delivered but not yet acked. The default, 1, keeps strict stream order even across
   * failures, restarts and several replicas; more trades that order for throughput.
   */
  maxAckPending?: number;
  /** Delay before a failed message is delivered again, by delivery count; 1 s doubling up to 60 s by default. */
  retryDelayMs?: (deliveryCount: number) => number;
  /**
   * Handler calls in progress at once, on messages of one pull subscription (default 1: one at a
   * time, in order). More gives up the order between messages; keep `maxAckPending` at least as high.
   */
  concurrency?: number;
  /**
   * Wait for the server to confirm each ack (a request/reply per message; the default). Without
   * it an ack is a plain publish: a lost ack means one redelivery after `ackWaitMs`, which the
   * idempotent handler absorbs anyway.
   */
  confirmAcks?: boolean;
  /** How long stop() waits for the handler calls in progress. */
  stopTimeoutMs?: number;
  log: Logger;
};

export type RunningConsumer = {
  /** Stops fetching, lets the handler call in progress finish (bounded), and returns. */
  stop(): Promise<void>;
  /** Settles when the consumer stops, by stop() or because its subscription ended. */
  done: Promise<void>;
};

const defaultRetryDelayMs = (deliveryCount: number) => Math.min(1_000 * 2 ** (deliveryCount - 1), 60_000);

/**
 * Runs a durable pull consumer: one message at a time by default (`concurrency` for more), each
 * acked after its handler resolves.
 */
export async function runConsumer(js: JetStreamClient, options: RunConsumerOptions): Promise<RunningConsumer> {
  const { stream, durable, log, stopTimeoutMs = 5_000, concurrency = 1 } = options;
  const action = await ensureConsumer(await js.jetstreamManager(), options);
  log.info({ stream, durable, action }, 'durable consumer ready');
  const messages = await (await js.consumers.get(stream, durable)).consume({
    max_messages: Math.max(100, concurrency),
  });
  let stopping = false;
  const inProgress = new Set<Promise<void>>();
  // A failure outside the handler (which processMessage answers itself) leaves the message
  // unacked: NATS delivers it again after ackWaitMs.
  const start = (msg: JsMsg) => {
    const call: Promise<void> = processMessage(msg, options)
      .catch((err: unknown) => {
        log.error(
          { stream, durable, seq: msg.seq, err: (err as Error)?.message ?? String(err) },
          'message not settled',
        );
      })
      .finally(() => inProgress.delete(call));
    inProgress.add(call);
    return call;
  };

  const done = (async () => {
    try {
      for await (const msg of messages) {
        // Messages still buffered after stop() go back at once, for the next instance.
        if (stopping) msg.nak();
        else if (concurrency <= 1) await processMessage(msg, options);
        else {
          start(msg);
          if (inProgress.size >= concurrency) await Promise.race(inProgress);
        }
      }
    } catch (err) {
      log.error({ stream, durable, err: (err as Error).message }, 'consumer ended on error');
    }
    await Promise.all(inProgress);
    if (!stopping) log.warn({ stream, durable }, 'consumer subscription ended');
  })();

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    stopping = true;
    messages.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
    });
    const outcome = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    // The messages in hand stay unacked; NATS delivers them again after ackWaitMs.
    if (outcome === 'timeout') log.warn({ stream, durable }, 'consumer stopped with a handler call still running');
  };
  return {
    done,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

async function processMessage(msg: JsMsg, options: RunConsumerOptions): Promise<void> {
  const { handler, eventTypes: wanted, log, stream, durable } = options;
  const { seq, subject } = msg;
  const deliveryCount = msg.info.redeliveryCount;
  const announced = announcedEventTypes(msg.headers);
  if (wanted && announced && !announced.some((type) => wanted.includes(type))) return ack(msg, options);
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(msg.data);
  } catch (err) {
    // It will not decode on a later delivery either; retrying would block the consumer for good.
    log.error({ stream, durable, seq, err: (err as Error).message }, 'undecodable message terminated');
    return msg.term('undecodable');
  }
  const eventTypes = announced ?? eventTypesOf(envelope.events);
  if (wanted && !eventTypes.some((type) => wanted.includes(type))) return ack(msg, options);
  try {
    await handler({ seq, subject, envelope, eventTypes, deliveryCount });
  } catch (err) {
    const failure = { stream, durable, seq, deliveryCount, err: (err as Error)?.message ?? String(err) };
    if (options.maxDeliver !== undefined && deliveryCount >= options.maxDeliver) {
      log.error(failure, 'handler failed on the last delivery; message given up');
      return msg.term('handler failed');
    }
    log.error(failure, 'handler failed; message will be delivered again');
    return msg.nak((options.retryDelayMs ?? defaultRetryDelayMs)(deliveryCount));
  }
  return ack(msg, options);
}

// By default waits for the server to confirm the ack, so that a consumer stopped right after a
// message does not see it again; if the confirmation is lost, the idempotent handler absorbs the repeat.
async function ack(msg: JsMsg, { log, stream, durable, confirmAcks = true }: RunConsumerOptions): Promise<void> {
  if (!confirmAcks) {
    msg.ack();
    return;
  }
  try {
    await msg.ackAck();
  } catch (err) {
    log.warn({ stream, durable, seq: msg.seq, err: (err as Error).message }, 'ack not confirmed');
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  options: RunConsumerOptions,
): Promise<'created' | 'updated' | 'unchanged'> {
  const { stream, durable, filterSubjects, ackWaitMs, maxDeliver = -1, maxAckPending = 1 } = options;
  if (filterSubjects.length === 0) throw new TypeError('filterSubjects must not be empty');
  // The server stores a single filter as filter_subject; say it the same way so configs compare equal.
  const filters =
    filterSubjects.length === 1
      ? { filter_subject: filterSubjects[0], filter_subjects: undefined }
      : { filter_subject: undefined, filter_subjects: filterSubjects };
  const changeable = {
    ...filters,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver,
    max_ack_pending: maxAckPending,
  };
  const current = await consumerConfig(jsm, stream, durable);
  if (current === null) {
    await jsm.consumers.add(stream, {
      ...changeable,
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    return 'created';
  }
  if (!differs(current, changeable)) return 'unchanged';
  await jsm.consumers.update(stream, durable, changeable);
  return 'updated';
}

async function consumerConfig(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerConfig | null> {
  try {
    return (await jsm.consumers.info(stream, durable)).config;
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === CONSUMER_NOT_FOUND) return null;
    throw err;
  }
}

function differs(current: ConsumerConfig, wanted: Partial<ConsumerConfig>): boolean {
  const currentFilters = current.filter_subjects ?? (current.filter_subject ? [current.filter_subject] : []);
  const wantedFilters = wanted.filter_subjects ?? (wanted.filter_subject ? [wanted.filter_subject] : []);
  return (
    currentFilters.length !== wantedFilters.length ||
    !currentFilters.every((filter) => wantedFilters.includes(filter)) ||
    current.ack_wait !== wanted.ack_wait ||
    current.max_deliver !== wanted.max_deliver ||
    current.max_ack_pending !== wanted.max_ack_pending
  );
}

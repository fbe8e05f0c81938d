import { setTimeout as sleep } from 'node:timers/promises';
import { isCorrelationId, newCorrelationId, withCorrelation } from '@tessera/correlation';
import type { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import { inSpan, SpanKind } from '@tessera/tracing';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  ErrorCode,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  NatsError,
  nanos,
} from 'nats';
import { announcedEventTypes, decodeEnvelope, eventTypesOf } from './envelope.js';
import { isStreamNotFound } from './errors.js';
import type { Logger } from './logger.js';
import { traceContextOf } from './trace-headers.js';

const CONSUMER_NOT_FOUND = 10014; // JetStream API err_codes

export type ConsumedMessage = {
  /** Stream sequence: a handler that must not apply a message twice remembers the ones it applied. */
  seq: number;
  subject: string;
  envelope: Envelope;
  eventTypes: string[];
  /** 1 on the first delivery; more after a failure, a crash or an expired ack wait. */
  deliveryCount: number;
};

/** What a handler answers to have its message back later instead of acked: not a failure, nothing is logged. */
export type RetryLater = { retryInMs: number };

/**
 * Must be idempotent: a message is delivered again when the handler throws, when its ack is lost,
 * when the process dies before acking, or when it runs longer than `ackWaitMs` (without
 * `progressHeartbeatMs`). Applying it twice must change nothing (remember applied sequences, or
 * write with keys that make a repeat a no-op). Resolving with `{ retryInMs }` hands the message
 * back to be delivered again after that delay (e.g. someone else holds what it needs).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that only acks is `async () => {}`, whose type is Promise<void>
export type ConsumerHandler = (message: ConsumedMessage) => Promise<void | RetryLater>;

export type RunConsumerOptions = {
  stream: string;
  durable: string;
  filterSubjects: string[];
  handler: ConsumerHandler;
  /** Messages announcing none of these types are acked without being decoded or handled. */
  eventTypes?: string[];
  /**
   * How long a delivered message may stay unacked before NATS delivers it again: longer than any
   * handler call, or, with `progressHeartbeatMs`, how soon the message of a dead process comes back.
   */
  ackWaitMs: number;
  /**
   * While a handler runs, tell NATS this often that its message is still being worked on (an
   * in-progress ack, which restarts the ack wait): a long call is then not delivered again while
   * its process lives, and the message of a process that died comes back one `ackWaitMs` after
   * its last heartbeat. Keep it well under `ackWaitMs` (a third, say). Off by default.
   */
  progressHeartbeatMs?: number;
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
  /** First wait before attaching again to a consumer that went away (1 s by default); it doubles up to 5 s. */
  reattachDelayMs?: number;
  log: Logger;
};

export type RunningConsumer = {
  stream: string;
  durable: string;
  /** Stops fetching, lets the handler call in progress finish (bounded), and returns. */
  stop(): Promise<void>;
  /** Settles when the consumer stops: by stop(), or when its connection closed for good. */
  done: Promise<void>;
  /**
   * True while messages can come: false from the moment the subscription ends (its consumer or
   * stream deleted, JetStream unreachable) until it is attached again. For readiness.
   */
  attached(): boolean;
  /**
   * Messages of the stream this consumer has still to settle: those not delivered yet plus those
   * delivered and not acked. Asks the server; for the consumer-lag metric.
   */
  lag(): Promise<number>;
};

const defaultRetryDelayMs = (deliveryCount: number) => Math.min(1_000 * 2 ** (deliveryCount - 1), 60_000);
const MAX_REATTACH_DELAY_MS = 5_000;
// How long each pull request waits on the server; the client expects idle heartbeats at half of
// it. A consumer deleted while a pull waits is reported at once (409); one deleted between two
// pulls only by two missed heartbeats, so this bounds how long a lost consumer goes unnoticed.
const PULL_EXPIRES_MS = 10_000;

/**
 * Runs a durable pull consumer: one message at a time by default (`concurrency` for more), each
 * acked after its handler resolves. If the subscription ends (its consumer or stream deleted, or
 * JetStream gone), it says so once, reports itself detached, and keeps attaching again: it
 * creates its own durable consumer again once the stream exists, and never creates a stream.
 * The first attach is not retried: a consumer that cannot start throws.
 */
export async function runConsumer(js: JetStreamClient, options: RunConsumerOptions): Promise<RunningConsumer> {
  const { stream, durable, log, stopTimeoutMs = 5_000, concurrency = 1, progressHeartbeatMs } = options;
  if (progressHeartbeatMs !== undefined && !(progressHeartbeatMs > 0 && progressHeartbeatMs < options.ackWaitMs))
    throw new RangeError('progressHeartbeatMs must be positive and shorter than ackWaitMs');
  const jsm = await js.jetstreamManager();
  let messages = await attach(js, jsm, options);
  let attached = true;
  let stopping = false;
  const stopSignal = new AbortController();
  const inProgress = new Set<Promise<void>>();
  const heartbeats = progressHeartbeats(progressHeartbeatMs);
  const handle = (msg: JsMsg) => heartbeats.during(msg, () => processMessage(msg, options));
  // A failure outside the handler (which processMessage answers itself) leaves the message
  // unacked: NATS delivers it again after ackWaitMs.
  const start = (msg: JsMsg) => {
    const call: Promise<void> = handle(msg)
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
  const consume = async (current: ConsumerMessages): Promise<string> => {
    try {
      for await (const msg of current) {
        // Messages still buffered after stop() go back at once, for the next instance.
        if (stopping) msg.nak();
        else if (concurrency <= 1) await start(msg);
        else {
          start(msg);
          if (inProgress.size >= concurrency) await Promise.race(inProgress);
        }
      }
      return 'the subscription ended';
    } catch (err) {
      return (err as Error)?.message ?? String(err);
    }
  };

  const done = (async () => {
    for (;;) {
      const reason = await consume(messages);
      if (stopping) break;
      attached = false;
      log.error(
        { stream, durable, reason },
        'consumer lost: no messages come until it is attached again (not ready meanwhile)',
      );
      const again = await reattach(js, jsm, options, stopSignal.signal);
      if (again === null) break;
      if (stopping) {
        again.stop(); // stop() came while it was attaching
        break;
      }
      messages = again;
      attached = true;
      log.info({ stream, durable }, 'consumer attached again');
    }
    await Promise.all(inProgress);
    heartbeats.stop();
  })();

  let stopCall: Promise<void> | undefined;
  const stop = async () => {
    stopping = true;
    stopSignal.abort();
    messages.stop();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
    });
    const outcome = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    heartbeats.stop();
    // The messages in hand stay unacked; NATS delivers them again after ackWaitMs.
    if (outcome === 'timeout') log.warn({ stream, durable }, 'consumer stopped with a handler call still running');
  };
  return {
    stream,
    durable,
    done,
    attached: () => attached && !stopping,
    lag: async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending + info.num_ack_pending;
    },
    stop: () => {
      stopCall ??= stop();
      return stopCall;
    },
  };
}

/** Ensures the durable consumer and subscribes to it; `abort_on_missing_resource` ends the subscription when either goes. */
async function attach(js: JetStreamClient, jsm: JetStreamManager, options: RunConsumerOptions) {
  const { stream, durable, log, concurrency = 1 } = options;
  const action = await ensureConsumer(jsm, options);
  log.info({ stream, durable, action }, 'durable consumer ready');
  return (await js.consumers.get(stream, durable)).consume({
    max_messages: Math.max(100, concurrency),
    expires: PULL_EXPIRES_MS,
    abort_on_missing_resource: true,
  });
}

/**
 * Attaches again, waiting longer between tries up to MAX_REATTACH_DELAY_MS; logs a reason once
 * each time it changes (not once per try). Null when stopped or when the connection is closed.
 */
async function reattach(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: RunConsumerOptions,
  stopped: AbortSignal,
): Promise<ConsumerMessages | null> {
  const { stream, durable, log, reattachDelayMs = 1_000 } = options;
  let lastReason = '';
  for (let delay = reattachDelayMs; ; delay = Math.min(delay * 2, MAX_REATTACH_DELAY_MS)) {
    try {
      await sleep(delay, undefined, { signal: stopped });
    } catch {
      return null; // stopped
    }
    try {
      return await attach(js, jsm, options);
    } catch (err) {
      if (err instanceof NatsError && err.code === ErrorCode.ConnectionClosed) {
        log.error({ stream, durable }, 'consumer not attached again: the NATS connection is closed');
        return null;
      }
      const reason = isStreamNotFound(err)
        ? `stream ${stream} does not exist; it is created by provisioning, not by this service`
        : ((err as Error)?.message ?? String(err));
      if (reason !== lastReason) log.warn({ stream, durable, reason }, 'consumer cannot attach yet; still trying');
      lastReason = reason;
    }
  }
}

/** In-progress acks for the messages being handled, from one timer for all of them. */
function progressHeartbeats(everyMs: number | undefined) {
  const handling = new Map<JsMsg, number>(); // message -> when it last told NATS
  let timer: NodeJS.Timeout | undefined;
  const beat = () => {
    const due = Date.now() - (everyMs ?? 0);
    for (const [msg, last] of handling)
      if (last <= due) {
        msg.working();
        handling.set(msg, Date.now());
      }
  };
  return {
    async during<T>(msg: JsMsg, run: () => Promise<T>): Promise<T> {
      if (everyMs === undefined) return run();
      if (timer === undefined) {
        // Checked at a quarter of the period, so a message waits at most 1.25 periods between beats.
        timer = setInterval(beat, Math.max(1, Math.floor(everyMs / 4)));
        timer.unref();
      }
      handling.set(msg, Date.now());
      try {
        return await run();
      } finally {
        handling.delete(msg);
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      handling.clear();
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
  let verdict: RetryLater | undefined;
  try {
    // The handler works, and logs, under the correlation id of the request that made the decision.
    // A child of the span that appended the message: its trace goes on through this consumer.
    const span = {
      kind: SpanKind.CONSUMER,
      parent: traceContextOf(msg.headers),
      attributes: consumerAttributes(options),
    };
    const handled = () =>
      inSpan(`consume ${durable}`, span, () => handler({ seq, subject, envelope, eventTypes, deliveryCount }));
    const correlationId = isCorrelationId(envelope.correlationId) ? envelope.correlationId : newCorrelationId();
    verdict = (await withCorrelation(correlationId, handled)) ?? undefined;
  } catch (err) {
    const failure = { stream, durable, seq, deliveryCount, err: (err as Error)?.message ?? String(err) };
    if (options.maxDeliver !== undefined && deliveryCount >= options.maxDeliver) {
      log.error(failure, 'handler failed on the last delivery; message given up');
      return msg.term('handler failed');
    }
    log.error(failure, 'handler failed; message will be delivered again');
    return msg.nak((options.retryDelayMs ?? defaultRetryDelayMs)(deliveryCount));
  }
  if (verdict !== undefined) return msg.nak(Math.max(1, Math.ceil(verdict.retryInMs)));
  return ack(msg, options);
}

const consumerAttributes = ({ stream, durable }: RunConsumerOptions) => ({
  'messaging.system': 'nats',
  'messaging.destination.name': stream,
  'messaging.consumer.group.name': durable,
});

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

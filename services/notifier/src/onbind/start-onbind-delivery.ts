import { DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { createFederationClient, type FederationClient } from '@tessera/federation-client';
import { DURABLES } from '@tessera/nats-access';
import type { ServiceContext } from '@tessera/service-kit';
import type { NatsConnection } from 'nats';
import { eachDelivery, runDeliveryConsumer } from '../delivery-consumer.js';
import { deliverOnbind, type OnbindDeps } from './deliver-onbind.js';
import { createOnbindCounters } from './onbind-metrics.js';

/** Its durable consumer: the name its NATS permissions allow (one table, in nats-access). */
export const ONBIND_DURABLE = DURABLES.notifierOnbind;
const STREAM = 'TESSERA_EVENTS';
const ONBIND_SUBJECTS = 'tessera.onbind.>';
// A call waiting for its next attempt stays unacknowledged on the server (a nak with a delay),
// so this bounds the calls waiting at once, not only those in progress: with more than this
// many homeservers down, a new call waits until a slot frees up.
const MAX_CALLS_PENDING = 10_000;

export type StartOnbindDeliveryOptions = Pick<
  ServiceContext<undefined, NatsConnection>,
  'config' | 'log' | 'nc' | 'metrics'
> & {
  /** Made from TESSERA_OUTBOUND_ALLOW and TESSERA_OUTBOUND_VERIFY_TLS when absent (tests pass one trusting their CA). */
  federation?: Pick<FederationClient, 'sendJson'>;
  dataKeys?: DataKeys;
  now?: () => Date;
  random?: () => number;
};

export type RunningOnbindDelivery = {
  /** Stops taking calls, gives up those in progress (recorded as failed attempts) and waits for their records (bounded). */
  stop(): Promise<void>;
  /** False while its consumer is gone (deleted, its stream missing): /readyz. */
  isReady(): boolean;
};

/**
 * Consumes OnbindRequested from TESSERA_EVENTS (`tessera.onbind.>`, durable `notifier-onbind`)
 * and makes each call to its homeserver (deliverOnbind). An OnbindRequested is acked once its
 * call is delivered or abandoned, and handed back (a nak with a delay) until its next attempt is
 * due. The consumer gives no message up (no max deliveries): a call is retried for days.
 */
export async function startOnbindDelivery(options: StartOnbindDeliveryOptions): Promise<RunningOnbindDelivery> {
  const { config, log, nc } = options;
  const leaseMs = config.TESSERA_DELIVERY_LEASE_MS;
  const concurrency = config.TESSERA_NOTIFIER_CONCURRENCY;
  const stopping = new AbortController();
  const deps: OnbindDeps = {
    store: new EventStore(nc),
    leaseMs,
    now: options.now ?? (() => new Date()),
    log,
    dataKeys: options.dataKeys ?? new DataKeys(await openDataKeySource(nc)),
    federation:
      options.federation ??
      createFederationClient({
        allowCidrs: config.TESSERA_OUTBOUND_ALLOW,
        verifyTls: config.TESSERA_OUTBOUND_VERIFY_TLS,
      }),
    backoff: { baseMs: config.TESSERA_ONBIND_RETRY_BASE_MS, maxMs: config.TESSERA_ONBIND_RETRY_MAX_MS },
    callTimeoutMs: config.TESSERA_ONBIND_TIMEOUT_MS,
    stopping: stopping.signal,
    random: options.random ?? Math.random,
    counters: createOnbindCounters(options.metrics),
    working: new Map(),
  };

  const handler = eachDelivery(
    'onbindRequested',
    (requested, _event, { envelope }) => deliverOnbind(deps, requested, envelope.correlationId),
    (_requested, err) => log.error({ err: err.message }, 'OnbindRequested with an unusable onbind id skipped'),
  );
  const consumer = await runDeliveryConsumer(nc, {
    config,
    stream: STREAM,
    durable: ONBIND_DURABLE,
    filterSubject: ONBIND_SUBJECTS,
    eventType: 'OnbindRequested',
    maxAckPending: MAX_CALLS_PENDING,
    log,
    metrics: options.metrics,
    handler,
  });
  log.info({ durable: ONBIND_DURABLE, concurrency, leaseMs }, 'notifier consuming OnbindRequested');
  return {
    isReady: () => consumer.attached(),
    async stop() {
      // Take no more calls, then give up those in progress: waiting for a call (up to
      // TESSERA_ONBIND_TIMEOUT_MS) would outlast the process's exit deadline. Each is recorded
      // failed with a short wait, so that the next notifier calls again soon.
      const stopped = consumer.stop();
      stopping.abort();
      await stopped;
    },
  };
}

import { type DataKeys, type RetryLater, subjectOf } from '@tessera/event-store';
import type { FederationClient } from '@tessera/federation-client';
import type { OnbindRequested } from '@tessera/proto/tessera/events/v1/invite';
import { onbindDataKey } from '@tessera/spec-params';
import { LEASE_MARGIN_MS } from '../delivery-steps.js';
import type { Backoff, OnbindDeliveryCommand } from '../domain/onbind-delivery.js';
import { oneAtATime } from '../one-at-a-time.js';
import { type CallOutcome, callHomeserver } from './call-homeserver.js';
import { openOnbindCall } from './onbind-call.js';
import {
  type AttemptStart,
  type HeldAttempt,
  keepAttemptLease,
  type OnbindLeaseDeps,
  type OnbindLogFields,
  recordAttemptOutcome,
  startAttempt,
} from './onbind-lease.js';
import type { OnbindCounters } from './onbind-metrics.js';

export type OnbindDeps = OnbindLeaseDeps & {
  dataKeys: DataKeys;
  federation: Pick<FederationClient, 'sendJson'>;
  /** TESSERA_ONBIND_RETRY_BASE_MS and TESSERA_ONBIND_RETRY_MAX_MS. */
  backoff: Backoff;
  /** TESSERA_ONBIND_TIMEOUT_MS: one call's deadline once its homeserver is found. */
  callTimeoutMs: number;
  /** Aborts when the notifier stops: calls in progress are given up and recorded failed, to be retried soon. */
  stopping: AbortSignal;
  /** In [0, 1): draws each backoff's jitter. */
  random: () => number;
  counters: OnbindCounters;
  /** The calls this process is working on right now, by onbind id. */
  working: Map<string, Promise<unknown>>;
};

/**
 * Makes one OnbindRequested's call to the homeserver, at least once, over as many attempts as it
 * takes until its give_up_at:
 * 1. open the sealed call (one that can never be made is abandoned at once, without a call);
 * 2. start an attempt for a lease (OnbindAttemptStarted on `tessera.onbind_delivery.<id>`); if
 *    another notifier's lease or a failed attempt's backoff runs, come back when it ends; past
 *    give_up_at, abandon it (OnbindAbandoned); if it has its outcome, stop here;
 * 3. call, renewing the lease while the call runs, and record OnbindDelivered or
 *    OnbindAttemptFailed; after a failure, come back at its retry_at.
 * Once delivered or abandoned, the call's data key (`onbind.<id>`) is erased. The caller acks the
 * OnbindRequested when this resolves without a retry; all state is in the stream, so a restarted
 * or another notifier carries on where this one stopped.
 */
export function deliverOnbind(
  deps: OnbindDeps,
  requested: OnbindRequested,
  correlationId: string,
): Promise<RetryLater | undefined> {
  return oneAtATime(deps.working, requested.onbindId, () => deliver(deps, requested, correlationId));
}

async function deliver(
  deps: OnbindDeps,
  requested: OnbindRequested,
  correlationId: string,
): Promise<RetryLater | undefined> {
  const { onbindId, giveUpAt } = requested;
  const subject = subjectOf('onbind_delivery', onbindId);
  const opened = await openOnbindCall(deps.dataKeys, requested);

  if (opened.status === 'unusable' || giveUpAt === undefined) {
    const reason = opened.status === 'unusable' ? opened.reason : 'the request has no give_up_at';
    const fields: OnbindLogFields = { onbindId, destination: opened.status === 'open' ? opened.destination : '' };
    const command: OnbindDeliveryCommand = { type: 'Abandon', onbindId, reason, now: deps.now() };
    const found = await startAttempt(deps, subject, command, correlationId);
    // Abandon never starts an attempt: there is nothing to call.
    return found.status === 'started' ? undefined : settle(deps, found, fields);
  }

  const fields: OnbindLogFields = { onbindId, destination: opened.destination };
  const start: OnbindDeliveryCommand = {
    type: 'StartAttempt',
    onbindId,
    leaseMs: deps.leaseMs,
    giveUpAt,
    now: deps.now(),
  };
  const attempt = await startAttempt(deps, subject, start, correlationId);
  if (attempt.status !== 'started') return settle(deps, attempt, fields);

  const lease = keepAttemptLease(deps, subject, attempt.held, { fields, correlationId });
  let outcome: CallOutcome;
  let held: HeldAttempt;
  try {
    outcome = await callHomeserver(deps.federation, opened, { timeoutMs: deps.callTimeoutMs, signal: deps.stopping });
  } finally {
    held = await lease.release();
  }
  const now = deps.now();
  const logged = { ...fields, attempt: held.attempt };
  if (outcome.delivered) {
    const command: OnbindDeliveryCommand = {
      type: 'RecordDelivered',
      onbindId,
      attempt: held.attempt,
      method: outcome.method,
      now,
    };
    await recordAttemptOutcome(deps, subject, command, { held, fields, correlationId });
    // Recorded now, or found finished: either way nothing will call again.
    await deps.dataKeys.erase(onbindDataKey(onbindId));
    deps.counters.attempts.inc({ outcome: 'delivered' });
    deps.log.info({ ...logged, method: outcome.method }, 'onbind call delivered');
    return undefined;
  }

  const { reason, httpStatus, hopeless, interrupted } = outcome;
  const command: OnbindDeliveryCommand = {
    type: 'RecordFailure',
    onbindId,
    attempt: held.attempt,
    reason,
    httpStatus,
    // Cut short by our own stop, not the homeserver's failure: the next notifier tries again soon.
    backoff: interrupted ? { ...deps.backoff, maxMs: deps.backoff.baseMs } : deps.backoff,
    random: deps.random(),
    giveUpAt,
    now,
  };
  const decided = await recordAttemptOutcome(deps, subject, command, { held, fields, correlationId });
  deps.counters.attempts.inc({ outcome: 'failed' });
  const failed = decided.find((event) => event.type === 'OnbindAttemptFailed');
  const retryAt = failed?.type === 'OnbindAttemptFailed' ? failed.data.retryAt : undefined;
  deps.log.warn({ ...logged, reason, httpStatus, retryAt }, 'onbind call failed; tried again later');
  // Retried like any failure (a homeserver may be down or misconfigured for days), but said plainly.
  if (hopeless !== undefined) deps.log.warn({ ...logged, why: hopeless }, 'onbind destination cannot be reached as is');
  // Nothing decided: the attempt was taken over meanwhile; the call's state says what comes next.
  const retryInMs = retryAt === undefined ? LEASE_MARGIN_MS : Math.max(0, retryAt.getTime() - now.getTime());
  return { retryInMs };
}

/** No call this time: abandoned by this decision, someone else's turn (back then), or finished (a repeat). */
async function settle(
  deps: OnbindDeps,
  found: Exclude<AttemptStart, { status: 'started' }>,
  fields: OnbindLogFields,
): Promise<RetryLater | undefined> {
  switch (found.status) {
    case 'leased':
    case 'waiting': {
      const margin = found.status === 'leased' ? LEASE_MARGIN_MS : 0;
      const retryInMs = Math.max(0, found.until.getTime() - deps.now().getTime()) + margin;
      deps.log.debug({ ...fields, status: found.status, retryInMs }, 'onbind call not due yet; back then');
      return { retryInMs };
    }
    case 'abandoned':
      await deps.dataKeys.erase(onbindDataKey(fields.onbindId));
      deps.counters.attempts.inc({ outcome: 'abandoned' });
      deps.log.warn({ ...fields, attempts: found.attempts, reason: found.reason }, 'onbind call abandoned');
      return undefined;
    case 'finished':
      // Its outcome was recorded; the key may have outlived it (a crash right after the record).
      await deps.dataKeys.erase(onbindDataKey(fields.onbindId));
      deps.counters.attempts.inc({ outcome: 'repeated' });
      deps.log.info(fields, 'onbind call already finished; nothing sent');
      return undefined;
  }
}

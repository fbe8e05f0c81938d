import { createHash } from 'node:crypto';
import { SUBJECT_PREFIX, subjectOf } from '@tessera/event-store';
import type { Logger } from '@tessera/service-kit';
import type { NatsConnection, Subscription } from 'nats';
import type { CheckToken, TokenCheck } from './auth.js';
import { coalesce } from './coalesce.js';

export interface TokenChecksOptions {
  /** Tokens remembered at most; the least recently used go first. */
  maxEntries?: number;
  /** How long an answer serves at most: the backstop for a change no event tells of (new terms at a session restart). */
  maxAgeMs?: number;
  /** How long a cache hit waits for NATS to confirm that no event is pending before it asks session instead. */
  syncTimeoutMs?: number;
  now?: () => number;
  log: Logger;
}

export interface TokenChecks {
  /** `check` (session's Authenticate) behind the cache: its answer from there while it holds. */
  cached(check: CheckToken): CheckToken;
  close(): void;
}

const ACCOUNT_EVENTS = `${SUBJECT_PREFIX}.account.>`;
const TERMS_EVENTS = `${SUBJECT_PREFIX}.terms.>`;
// A disconnect may have lost events: answers are dropped, and not kept until the subscriptions are back.
const LOSSY_STATUS = new Set(['disconnect', 'reconnecting', 'staleConnection', 'error']);

/**
 * Session's answers to Authenticate, kept by account (`tessera.account.<base64url sha256(token)>`,
 * as the session service names it), so a v2 lookup does not pay a session call each. An answer is
 * dropped exactly when it may change:
 * - an event on the account's subject (logout) drops that account's answer;
 * - any terms event drops every answer (terms subjects name a user's keyed pseudonym, which the
 *   gateway cannot compute; acceptances are rare);
 * - a lost NATS connection drops every answer, and none is kept until it is back.
 * The bound: before answering from the cache, the gateway round-trips to its NATS server (one
 * PING, shared by every request that arrived meanwhile). NATS hands an event to every subscriber
 * before JetStream acknowledges it to session, and answers a PING after whatever it sent before
 * on that connection, so a logout that session has answered is seen by every gateway on the same
 * NATS server before it answers any request that arrived after the logout's answer. Across a
 * NATS cluster the event travels a route to the gateway's server: it is then seen once it crossed
 * that route. Answers also age out after `maxAgeMs`. Refusals are not kept: session answers them.
 */
export async function watchTokenChecks(
  nc: NatsConnection,
  { maxEntries = 10_000, maxAgeMs = 60_000, syncTimeoutMs = 1_000, now = Date.now, log }: TokenChecksOptions,
): Promise<TokenChecks> {
  const answers = new Map<string, { answer: TokenCheck; expiresAt: number }>(); // by account subject, least recently used first
  // Bumped by every drop: a check that started before one must not keep what it read.
  let generation = 0;
  let usable = true;
  const dropAll = () => {
    generation++;
    answers.clear();
  };
  const drop = (subject: string) => {
    generation++;
    answers.delete(subject);
  };

  const onEvent = (each: (subject: string) => void) => (err: unknown, msg: { subject: string }) => {
    if (err === null) each(msg.subject);
    else stop();
  };
  const subscriptions: Subscription[] = [
    nc.subscribe(ACCOUNT_EVENTS, { callback: onEvent(drop) }),
    nc.subscribe(TERMS_EVENTS, { callback: onEvent(dropAll) }),
  ];
  const stop = () => {
    if (usable) log.warn({}, 'token check cache off: its NATS subscriptions ended');
    usable = false;
    dropAll();
  };
  for (const subscription of subscriptions) subscription.closed.then(stop, stop);
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (LOSSY_STATUS.has(status.type)) {
        connected = false;
        dropAll();
      } else if (status.type === 'reconnect') {
        // The client resubscribes before it reports the reconnect; answers start afresh.
        dropAll();
        connected = true;
      }
    }
  })().catch(stop);
  await nc.flush(); // the server now sends every later event here

  const sync = coalesce(
    async (waiters: undefined[]) => {
      await withTimeout(nc.flush(), syncTimeoutMs);
      return waiters.map(() => true);
    },
    { maxBatchWeight: Number.POSITIVE_INFINITY },
  );
  /** True when every event NATS sent before this call has been applied. */
  const synced = () => sync(undefined).catch(() => false);

  const accountSubjectOf = (accessToken: string) =>
    subjectOf('account', createHash('sha256').update(accessToken, 'utf8').digest('base64url'));

  const cached = async (subject: string): Promise<TokenCheck | undefined> => {
    if (!usable || !connected || !answers.has(subject) || !(await synced())) return undefined;
    const entry = answers.get(subject); // again: the sync may have dropped it
    if (entry === undefined) return undefined;
    answers.delete(subject);
    if (entry.expiresAt <= now()) return undefined;
    answers.set(subject, entry); // most recently used goes last
    return entry.answer;
  };

  const checked =
    (check: CheckToken) =>
    async (accessToken: string): Promise<TokenCheck> => {
      const subject = accountSubjectOf(accessToken);
      const hit = await cached(subject);
      if (hit !== undefined) return hit;
      const seen = generation;
      const answer = await check(accessToken);
      if (usable && connected && seen === generation) {
        const { userId, termsAccepted } = answer; // Authenticate's answer may carry more
        answers.set(subject, { answer: { userId, termsAccepted }, expiresAt: now() + maxAgeMs });
        if (answers.size > maxEntries) answers.delete(answers.keys().next().value as string);
      }
      return answer;
    };

  return {
    cached: checked,
    close() {
      usable = false;
      dropAll();
      for (const subscription of subscriptions) if (!subscription.isClosed()) subscription.unsubscribe();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('NATS did not answer in time')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

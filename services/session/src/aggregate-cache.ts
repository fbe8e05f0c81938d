import type { NatsConnection, Subscription } from 'nats';

export type AggregateCacheOptions = { maxEntries?: number; ttlMs?: number; now?: () => number };

/**
 * The state of recently loaded aggregates, by subject, kept correct across replicas: a core
 * subscription to the aggregates' subjects (`tessera.account.>`) sees every append, whoever made
 * it (JetStream publishes reach core subscribers too), and drops that subject's entry. Entries also
 * expire after `ttlMs`, a backstop for a message missed; a disconnect or reconnect clears
 * everything, and caching stops for good if the subscription fails (no permission, closed).
 */
export interface AggregateCache<S> {
  /** The cached state of `subject`, or `load(subject)`, cached unless the subject changed meanwhile. */
  get(subject: string, load: (subject: string) => Promise<S>): Promise<S>;
  /** Forgets `subject` (after this process appended to it: its own message may come later). */
  invalidate(subject: string): void;
  /** Stops watching; the cache then only passes loads through. */
  close(): void;
}

// A disconnect may have lost messages; the others (update, ldm, pingTimer, …) lose none.
const CLEARING_STATUS = new Set(['disconnect', 'reconnect', 'reconnecting', 'staleConnection', 'error']);

/** Subscribes to `subjects` (a wildcard) and resolves once the server has the subscription. */
export async function watchAggregates<S>(
  nc: NatsConnection,
  subjects: string,
  { maxEntries = 10_000, ttlMs = 30_000, now = Date.now }: AggregateCacheOptions = {},
): Promise<AggregateCache<S>> {
  const entries = new Map<string, { state: S; expiresAt: number }>();
  // Bumped by every change seen: a load that started before a change must not cache what it read.
  let generation = 0;
  let enabled = true;
  const clear = () => {
    generation++;
    entries.clear();
  };
  const invalidate = (subject: string) => {
    generation++;
    entries.delete(subject);
  };
  const disable = () => {
    enabled = false;
    clear();
  };

  const subscription: Subscription = nc.subscribe(subjects, {
    callback: (err, msg) => (err === null ? invalidate(msg.subject) : disable()),
  });
  subscription.closed.then(disable, disable);
  void (async () => {
    for await (const status of nc.status()) if (CLEARING_STATUS.has(status.type)) clear();
  })().catch(disable);
  await nc.flush(); // the server now sends every later append on `subjects` here

  return {
    async get(subject, load) {
      const entry = entries.get(subject);
      if (entry !== undefined) {
        entries.delete(subject);
        if (entry.expiresAt > now()) {
          entries.set(subject, entry); // most recently used goes last
          return entry.state;
        }
      }
      const seen = generation;
      const state = await load(subject);
      if (enabled && seen === generation) {
        entries.set(subject, { state, expiresAt: now() + ttlMs });
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      return state;
    },
    invalidate,
    close() {
      disable();
      if (!subscription.isClosed()) subscription.unsubscribe();
    },
  };
}

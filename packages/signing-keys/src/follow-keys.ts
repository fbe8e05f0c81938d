import {
  decodeEnvelope,
  getLastForSubject,
  parseSubject,
  type StoredMessage,
  SUBJECT_PREFIX,
  streamOf,
  subjectOf,
} from '@tessera/event-store';
import type { Logger, ReadinessCheck } from '@tessera/service-kit';
import type { Msg, NatsConnection } from 'nats';
import type { KeyEvent } from './key.js';
import { KeyBook, type KeyView } from './key-book.js';
import { keyCodec } from './key-events.js';

const KEY_SUBJECTS = `${SUBJECT_PREFIX}.key.>`;
const KEY_STREAM = streamOf('key');
const MSG_ID = 'Nats-Msg-Id';

// A notice (the core copy of a publish to `tessera.key.<id>`) may come before JetStream has stored
// the message: the server hands a publish to core subscribers and to the stream side by side. It
// may also be of a publish the stream refused (a conflict; a re-sent duplicate). So a notice only
// says which key to read again, and the key is read until its stored last message is the notice's,
// for about a second: a revocation is applied as soon as it is stored.
const RECHECK_DELAYS_MS = [0, 5, 10, 20, 40, 80, 160, 320, 400];
// Reads everything again now and then: a notice lost all the same (a slow-consumer drop) is made
// good within this.
const DEFAULT_RESYNC_INTERVAL_MS = 30_000;
const RESYNC_RETRY_MS = { first: 250, max: 5_000 };

export type FollowKeysOptions = {
  log: Logger;
  /** Per NATS request (stream info, each direct get). */
  timeoutMs: number;
  resyncIntervalMs?: number;
  /**
   * Follows only these key ids (signing, its own keys): reads them by subject, with no listing, and
   * ignores notices of other keys. Without it, every key the stream holds (the gateway).
   */
  keyIds?: readonly string[];
  /** Told each time a key's view changes, with the events of the decision that changed it (a reason to log). */
  onChange?: (keyId: string, view: KeyView, events: readonly KeyEvent[]) => void;
};

export interface FollowedKeys {
  /** The keys as known now. */
  book: KeyBook;
  /** `signing keys`: ready once every key was read, and again after each reconnect's re-read. */
  readiness: ReadinessCheck;
  close(): void;
}

/**
 * Keeps a KeyBook of signing's keys (`tessera.key.<keyId>` in TESSERA_EVENTS) current: subscribes
 * to the key subjects first, then lists them (or takes the `keyIds` given) and reads each key's
 * last decision, so nothing appended meanwhile is missed; each notice reads its key again; a
 * reconnect (notices may have been lost while away) reads them all again. Resolves once the first
 * full read is done; throws when it fails (no permission, no stream), so neither the gateway nor
 * signing starts without knowing its keys.
 */
export async function followKeys(nc: NatsConnection, options: FollowKeysOptions): Promise<FollowedKeys> {
  const { log, timeoutMs, resyncIntervalMs = DEFAULT_RESYNC_INTERVAL_MS, onChange } = options;
  const only = options.keyIds === undefined ? undefined : new Set(options.keyIds.map((id) => subjectOf('key', id)));
  const book = new KeyBook();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let synced = false;
  let resyncing: Promise<void> | undefined;

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) run();
    }, ms);
    timers.add(timer);
  };

  async function readKey(subject: string): Promise<StoredMessage | null> {
    const last = await getLastForSubject(nc, KEY_STREAM, subject, timeoutMs);
    if (last === null) return null;
    const keyId = parseSubject(subject).id;
    let events: ReturnType<typeof keyCodec.fromStoredEvents>;
    try {
      events = keyCodec.fromStoredEvents(decodeEnvelope(last.data).events);
    } catch (err) {
      log.warn({ keyId, seq: last.seq, err: (err as Error).message }, 'key event unreadable: skipped');
      return last;
    }
    if (book.apply(keyId, last.seq, events)) {
      const view = book.lookup(keyId);
      log.info({ keyId, seq: last.seq, status: view?.status }, 'signing key learnt');
      if (view !== undefined) onChange?.(keyId, view, events);
    }
    return last;
  }

  async function readAll(): Promise<void> {
    for (const subject of only ?? (await listKeySubjects())) await readKey(subject);
  }

  async function listKeySubjects(): Promise<string[]> {
    const jsm = await nc.jetstreamManager({ checkAPI: false, timeout: timeoutMs });
    const info = await jsm.streams.info(KEY_STREAM, { subjects_filter: KEY_SUBJECTS });
    return Object.keys(info.state.subjects ?? {});
  }

  /** Reads everything again until it succeeds (or the follower is closed); one run at a time. */
  function resync(why: string): Promise<void> {
    resyncing ??= (async () => {
      for (let wait = RESYNC_RETRY_MS.first; !closed; wait = Math.min(wait * 2, RESYNC_RETRY_MS.max)) {
        try {
          await readAll();
          synced = true;
          return;
        } catch (err) {
          log.warn({ why, err: (err as Error).message, retryInMs: wait }, 'signing keys: reading them again failed');
          await new Promise<void>((ok) => later(wait, ok));
        }
      }
    })().finally(() => {
      resyncing = undefined;
    });
    return resyncing;
  }

  function recheck(subject: string, msgId: string, attempt: number): void {
    readKey(subject).then(
      (last) => {
        if (last?.headers.get(MSG_ID) === msgId || attempt + 1 >= RECHECK_DELAYS_MS.length) return;
        later(RECHECK_DELAYS_MS[attempt + 1] ?? 0, () => recheck(subject, msgId, attempt + 1));
      },
      (err: unknown) => {
        if (attempt + 1 >= RECHECK_DELAYS_MS.length) {
          log.warn({ subject, err: (err as Error).message }, 'signing keys: a key could not be read after its notice');
          void resync('a notice could not be followed');
          return;
        }
        later(RECHECK_DELAYS_MS[attempt + 1] ?? 0, () => recheck(subject, msgId, attempt + 1));
      },
    );
  }

  const onNotice = (msg: Msg) => {
    if (only !== undefined && !only.has(msg.subject)) return; // not one of the keys followed
    try {
      parseSubject(msg.subject);
    } catch {
      return; // not a key aggregate's subject: nothing to read
    }
    recheck(msg.subject, msg.headers?.get(MSG_ID) ?? '', 0);
  };

  let refused: Error | undefined;
  const subscription = nc.subscribe(KEY_SUBJECTS, {
    callback: (err, msg) => {
      if (err === null) return onNotice(msg);
      refused ??= err;
      log.error({ err: err.message }, 'signing keys: notices stopped');
    },
  });
  await nc.flush(); // the server sends every later append here: nothing falls between this and the listing
  // A subscription the server refuses is reported before the flush's answer: an identity that may
  // read the keys but not hear of new ones would never learn of a revocation.
  if (refused !== undefined) throw refused;
  try {
    await readAll();
  } catch (err) {
    subscription.unsubscribe();
    throw err;
  }
  synced = true;
  log.info({ keys: book.size }, 'signing keys read from the event stream');

  void (async () => {
    for await (const status of nc.status()) {
      if (closed) return;
      if (status.type === 'disconnect') synced = false;
      else if (status.type === 'reconnect') void resync('reconnected');
    }
  })().catch(() => {});
  const interval = setInterval(() => void resync('periodic'), resyncIntervalMs);
  interval.unref();

  return {
    book,
    readiness: { name: 'signing keys', isReady: () => synced && !closed },
    close() {
      closed = true;
      clearInterval(interval);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!subscription.isClosed()) subscription.unsubscribe();
    },
  };
}

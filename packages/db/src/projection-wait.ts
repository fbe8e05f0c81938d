import type { Logger } from '@tessera/event-store';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { longLivedClientOptions } from './connection-options.js';
import { PROJECTED_CHANNEL } from './projected.js';
import type { Database } from './schema.js';

export interface ProjectionWaitOptions {
  /** The read model's pool: reads of the checkpoint table. */
  db: Kysely<Database>;
  /** TESSERA_DATABASE_URL: the one dedicated connection that LISTENs. */
  url: string;
  /** The checkpoint row to follow (ASSOCIATIONS_PROJECTION). */
  projection: string;
  log: Logger;
  /** While someone waits, the checkpoint is also read this often (a missed notification). Default 500 ms. */
  pollMs?: number;
  /** Pause before the listening connection is opened again after it dropped. Default 500 ms. */
  reconnectMs?: number;
}

export interface ProjectionWait {
  /**
   * Whether the projection has applied stream sequence `seq` within `timeoutMs`: true as soon as
   * its checkpoint reaches it, false when the time is up (the change is stored, not yet visible).
   */
  until(seq: number, timeoutMs: number): Promise<boolean>;
  /** The highest checkpoint seen so far (0 before any). */
  checkpoint(): number;
  /** Called each time the checkpoint is seen to advance (a batch was applied). */
  onAdvance(listener: (lastSeq: number) => void): void;
  /** Whether the listening connection is up (a wait still works without it, by polling). */
  isListening(): boolean;
  close(): Promise<void>;
}

type Waiter = { seq: number; done: (reached: boolean) => void };

/**
 * Read-your-writes for the read model: a writer appends an event, then waits here until the
 * projection's checkpoint reaches the append's stream sequence. The projector NOTIFYs
 * PROJECTED_CHANNEL with `<projection> <last_seq>` inside each batch's transaction; this listens on
 * one connection of its own (opened again whenever it drops) and also reads the checkpoint row at
 * the start of each wait and, while anyone waits, every `pollMs`, so a notification lost while the
 * connection was down delays a wait by a poll at most, never past its timeout.
 */
export async function watchProjection(options: ProjectionWaitOptions): Promise<ProjectionWait> {
  const { db, url, projection, log, pollMs = 500, reconnectMs = 500 } = options;
  let known = 0;
  let closed = false;
  let client: pg.Client | null = null;
  let listening = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  const waiters = new Set<Waiter>();
  const listeners: ((lastSeq: number) => void)[] = [];

  // The checkpoint as last read or notified. It may go back: a rebuild resets it to 0 (and
  // notifies that), and until the replay is back past a sequence, that sequence is not visible.
  const advance = (seq: number) => {
    if (seq === known) return;
    known = seq;
    for (const waiter of waiters)
      if (waiter.seq <= known) {
        waiters.delete(waiter);
        waiter.done(true);
      }
    for (const listener of listeners) listener(known);
  };

  // A read of the row may return after a notification that is newer than what it saw (the
  // projector commits, then notifies): such a read is dropped, or it would set the checkpoint back.
  let notifications = 0;
  const readCheckpoint = async () => {
    const notifiedBefore = notifications;
    try {
      const row = await db
        .selectFrom('projector_checkpoint')
        .select('last_seq')
        .where('projection', '=', projection)
        .executeTakeFirst();
      if (row !== undefined && notifications === notifiedBefore) advance(Number(row.last_seq));
    } catch (err) {
      log.warn({ projection, err: (err as Error).message }, 'cannot read the projection checkpoint');
    }
  };

  const poll = () => {
    pollTimer = undefined;
    if (closed || waiters.size === 0) return;
    void readCheckpoint().finally(schedulePoll);
  };
  const schedulePoll = () => {
    if (closed || waiters.size === 0 || pollTimer !== undefined) return;
    pollTimer = setTimeout(poll, pollMs);
    pollTimer.unref();
  };

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== PROJECTED_CHANNEL || message.payload === undefined) return;
    const [name, lastSeq] = message.payload.split(' ');
    if (name !== projection || lastSeq === undefined || !/^\d+$/.test(lastSeq)) return;
    notifications++;
    advance(Number(lastSeq));
  };

  const connect = async () => {
    const next = new pg.Client(longLivedClientOptions(url));
    next.on('notification', onNotification);
    next.on('error', (err) => dropped(next, err.message));
    next.on('end', () => dropped(next, 'connection ended'));
    try {
      await next.connect();
      await next.query(`LISTEN ${PROJECTED_CHANNEL}`);
    } catch (err) {
      dropped(next, (err as Error).message);
      return;
    }
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    listening = true;
    // Whatever was applied while nobody listened.
    await readCheckpoint();
  };

  const dropped = (which: pg.Client, problem: string) => {
    if (closed) return;
    if (client === which) {
      client = null;
      listening = false;
      log.warn({ projection, problem }, 'lost the connection listening for projected batches; opening it again');
    } else if (client !== null) return; // an older connection's late event
    which.removeAllListeners('end');
    which.end().catch(() => {});
    if (reconnectTimer !== undefined) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!closed && client === null) void connect();
    }, reconnectMs);
    reconnectTimer.unref();
  };

  await connect();
  if (!listening) await readCheckpoint();

  return {
    async until(seq, timeoutMs) {
      if (seq <= known) return true;
      const reached = new Promise<boolean>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const waiter: Waiter = {
          seq,
          done: (ok) => {
            clearTimeout(timer);
            resolve(ok);
          },
        };
        waiters.add(waiter);
        timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
      });
      schedulePoll();
      await readCheckpoint();
      return reached;
    },
    checkpoint: () => known,
    onAdvance: (listener) => void listeners.push(listener),
    isListening: () => listening,
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearTimeout(pollTimer);
      for (const waiter of waiters) waiter.done(false);
      waiters.clear();
      const last = client;
      client = null;
      listening = false;
      await last?.end().catch(() => {});
    },
  };
}

/**
 * For a writer whose last append may be far ahead of the projection (an import): whether the
 * projection applied `seq`, waiting as long as it keeps applying; false only once it applied
 * nothing for `idleMs`.
 */
export async function untilAppliedWhileAdvancing(wait: ProjectionWait, seq: number, idleMs: number): Promise<boolean> {
  for (;;) {
    const before = wait.checkpoint();
    if (await wait.until(seq, idleMs)) return true;
    if (wait.checkpoint() <= before) return false;
  }
}

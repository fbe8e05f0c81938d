import {
  ASSOCIATIONS_PROJECTION,
  type DatabaseSettings,
  type HeldLock,
  openDatabase,
  PROJECTED_CHANNEL,
  resetProjection,
  tryLock,
} from '@tessera/db';
import type { Logger } from '@tessera/event-store';
import type { NatsConnection } from 'nats';
import pg from 'pg';
import { ASSOCIATIONS_TABLES } from './associations-projection.js';
import { EVENTS_STREAM, PROJECTOR_LOCK, REBUILD_REQUEST_CHANNEL, runAssociations } from './projector.js';

export type RebuildOutcome = {
  /** Who replayed the stream: this process (no projector was active) or the active projector. */
  by: 'this process' | 'the active projector';
  /** The stream's last sequence when the tables were emptied: the rebuilt tables cover it. */
  upTo: number;
  seconds: number;
};

export type RebuildOptions = {
  /** As the projector identity: it reads TESSERA_EVENTS with the projector's durable and opens `assoc` keys. */
  nc: NatsConnection;
  database: DatabaseSettings;
  log: Logger;
  /** How long the active projector may take to start the rebuild it is asked for. Default 30 s. */
  answerTimeoutMs?: number;
};

/**
 * Empties the associations read model (its invite tables too) and replays TESSERA_EVENTS into it,
 * under PROJECTOR_LOCK so that it never runs beside an active projector: when no projector holds
 * the lock, this process takes it and replays the stream itself (standbys wait meanwhile); when one
 * does, it asks that one to rebuild and follows its checkpoint. Resolves once the tables cover the stream as it was
 * when they were emptied.
 */
export async function rebuildAssociations(options: RebuildOptions): Promise<RebuildOutcome> {
  const started = performance.now();
  const seconds = () => Number(((performance.now() - started) / 1_000).toFixed(1));
  for (;;) {
    const lock = await tryLock(options.database, PROJECTOR_LOCK);
    if (lock !== null) return { by: 'this process', upTo: await replayHere(options, lock), seconds: seconds() };
    const upTo = await askActiveProjector(options);
    if (upTo !== null) return { by: 'the active projector', upTo, seconds: seconds() };
    // Nobody answered: the active one died meanwhile (or is stuck); take the lock or ask again.
    options.log.warn({}, 'the active projector did not start the rebuild; trying again');
  }
}

async function replayHere({ nc, database, log }: RebuildOptions, lock: HeldLock): Promise<number> {
  const db = await openDatabase({ ...database, poolSize: 2 }, log);
  try {
    await resetProjection(db, { name: ASSOCIATIONS_PROJECTION, tables: ASSOCIATIONS_TABLES });
    const upTo = await lastSeq(nc);
    log.info({ upTo }, 'read model emptied; replaying the stream');
    const runner = await runAssociations({ nc, db, log });
    try {
      let lost = false;
      lock.lost.then(() => {
        lost = true;
      });
      while (runner.checkpoint() < upTo) {
        if (lost) throw new Error('the projector lock was lost during the rebuild (its PostgreSQL connection ended)');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await runner.stop();
    }
    return upTo;
  } finally {
    await db.destroy();
    await lock.release();
  }
}

/** Asks the lock holder to rebuild and waits until it has replayed; null when it does not start in time. */
async function askActiveProjector({ nc, database, log, answerTimeoutMs = 30_000 }: RebuildOptions) {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => {});
  await client.connect();
  try {
    const heard: number[] = [];
    let hear: () => void = () => {};
    client.on('notification', (note) => {
      const [projection, seq] = (note.payload ?? '').split(' ');
      if (note.channel !== PROJECTED_CHANNEL || projection !== ASSOCIATIONS_PROJECTION) return;
      heard.push(Number(seq));
      hear();
    });
    await client.query(`listen ${PROJECTED_CHANNEL}`);
    await client.query('select pg_notify($1, $2)', [REBUILD_REQUEST_CHANNEL, ASSOCIATIONS_PROJECTION]);
    log.info({}, 'a projector is active: asked it to rebuild');
    /** Waits until `done()` holds, hearing each notification; false when `timeoutMs` passes first. */
    const until = async (done: () => boolean, timeoutMs?: number) => {
      const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
      while (!done()) {
        const left = deadline === undefined ? undefined : deadline - Date.now();
        if (left !== undefined && left <= 0) return false;
        await new Promise<void>((resolve) => {
          const timer = left === undefined ? undefined : setTimeout(resolve, left);
          hear = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return true;
    };
    // A reset notifies `<projection> 0`; batches notify 1 and up.
    if (!(await until(() => heard.includes(0), answerTimeoutMs))) return null;
    const upTo = await lastSeq(nc);
    const replayed = () => heard.slice(heard.lastIndexOf(0)).some((seq) => seq >= upTo);
    // A replay of the whole stream has no deadline: each batch it commits is heard (also from a standby
    // that takes over meanwhile, going on from the checkpoint).
    await until(replayed);
    return upTo;
  } finally {
    await client.end().catch(() => {});
  }
}

async function lastSeq(nc: NatsConnection): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
}

import {
  ASSOCIATIONS_PROJECTION,
  type Database,
  type DatabaseSettings,
  type HeldLock,
  type LockWait,
  type RunningProjection,
  runProjection,
  waitForLock,
} from '@tessera/db';
import { DataKeys, type Logger, openDataKeySource } from '@tessera/event-store';
import { DURABLES } from '@tessera/nats-access';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import { associationsProjection } from './associations-projection.js';
import { reportBindingKeys } from './binding-key-metrics.js';
import {
  FollowedBindingKeys,
  type FollowedBindingKeysOptions,
  type FollowedKeysStats,
} from './followed-binding-keys.js';
import { catchUpInvites } from './invites-catch-up.js';

/** The advisory lock the active projector holds; the rebuild command takes it too. */
export const PROJECTOR_LOCK = 'projector';
/** Where `tessera projector rebuild` asks the active projector to rebuild (payload: the projection's name). */
export const REBUILD_REQUEST_CHANNEL = 'tessera_projector_rebuild';
export const EVENTS_STREAM = 'TESSERA_EVENTS';

export type ProjectorOptions = {
  nc: NatsConnection;
  db: Kysely<Database>;
  /** For the lock's own connection. */
  database: DatabaseSettings;
  log: Logger;
  registry?: Registry;
  batchSize?: number;
  /** Pause before trying again when the lock or the runner cannot be had. */
  retryDelayMs?: number;
};

export type RunningProjector = {
  /** 'active' while it holds the lock and projects; 'standby' while it waits for it. */
  role(): 'active' | 'standby';
  readiness: { name: string; isReady(): boolean; state(): string };
  /** Settles when it stops: stop(), or its NATS connection closed for good. */
  done: Promise<void>;
  stop(): Promise<void>;
};

export type RunningAssociations = RunningProjection & {
  /** How the bindings' data keys were had: from the followed bucket stream, or fetched one by one. */
  keyStats(): FollowedKeysStats;
  /** Whether the key of `aggregate` is held, read from the bucket stream and not used yet. */
  holdsKey(aggregate: string): boolean;
};

/** The associations projection's runner as the projector runs it, also for a rebuild from the CLI. */
export async function runAssociations(
  options: Pick<ProjectorOptions, 'nc' | 'db' | 'log' | 'registry' | 'batchSize'> & {
    keys?: Omit<FollowedBindingKeysOptions, 'log'>;
  },
): Promise<RunningAssociations> {
  const { nc, db, log, registry, batchSize = 500 } = options;
  await catchUpInvites(nc, db, EVENTS_STREAM, log); // after an upgrade from a projector without invites
  const followed = new FollowedBindingKeys(nc, await openDataKeySource(nc), { ...options.keys, log });
  // A key serves its binding's two fields, once: the cache spans two batches (one prepared, one written).
  const keys = new DataKeys(followed, { cacheSize: batchSize * 4, cacheTtlMs: 10_000 });
  let runner: RunningProjection;
  try {
    runner = await runProjection({
      nc,
      db,
      stream: EVENTS_STREAM,
      durable: DURABLES.projector,
      projection: associationsProjection({ keys, log, position: followed }),
      batchSize,
      log,
      ...(registry && { registry }),
    });
  } catch (err) {
    await followed.stop();
    throw err;
  }
  if (registry) reportBindingKeys(registry, () => followed.stats());
  const done = runner.done.finally(() => followed.stop());
  return {
    ...runner,
    done,
    keyStats: () => followed.stats(),
    holdsKey: (aggregate) => followed.holds(aggregate),
    async stop() {
      await runner.stop();
      await done;
    },
  };
}

/**
 * The projector: one replica is active (it holds PROJECTOR_LOCK, a PostgreSQL advisory lock on a
 * connection of its own, and runs the projection), the others stand by waiting for the lock, and
 * the first of them takes over as soon as the active one's connection ends (its process died).
 * Losing the lock stops the runner at once and stands by again. The active one also rebuilds when
 * `tessera projector rebuild` asks (REBUILD_REQUEST_CHANNEL), so a rebuild never runs beside it.
 */
export function startProjector(options: ProjectorOptions): RunningProjector {
  const { log, database, retryDelayMs = 1_000 } = options;
  let role: 'active' | 'standby' = 'standby';
  let runner: RunningProjection | undefined;
  let stopping = false;
  let waiting: LockWait | undefined;
  let wake: () => void = () => {};
  const stopped = new Promise<'stop'>((resolve) => {
    wake = () => resolve('stop');
  });
  const pause = (ms: number) => Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

  /** Holds the lock: runs the projection until the lock is lost, NATS closes, or stop(). */
  const activeWith = async (lock: HeldLock): Promise<'lost' | 'closed' | 'stop'> => {
    const running = await runAssociations(options);
    runner = running;
    role = 'active';
    log.info({ role }, 'projector active: it holds the projector lock and projects');
    // Whatever ends this (the LISTEN failing with the lock's connection included), the runner
    // stops before the lock is let go: no second runner may start beside it.
    try {
      lock.client.on('notification', (note) => {
        if (note.channel !== REBUILD_REQUEST_CHANNEL || note.payload !== ASSOCIATIONS_PROJECTION) return;
        log.info({}, 'rebuild asked for: emptying the read model and replaying the stream');
        running.rebuild().catch((err: Error) => log.error({ err: err.message }, 'rebuild failed'));
      });
      await lock.client.query(`listen ${REBUILD_REQUEST_CHANNEL}`);
      return await Promise.race([
        lock.lost.then(() => 'lost' as const),
        running.done.then(() => 'closed' as const),
        stopped,
      ]);
    } finally {
      role = 'standby';
      runner = undefined;
      await running.stop();
    }
  };

  const done = (async () => {
    while (!stopping) {
      log.info({ role: 'standby' }, 'projector standing by: waiting for the projector lock');
      waiting = waitForLock(database, PROJECTOR_LOCK);
      let lock: HeldLock;
      try {
        lock = await waiting.held;
        waiting = undefined; // stop() must not close the lock's connection before the runner has stopped
      } catch (err) {
        if (stopping) break;
        log.warn({ err: (err as Error).message }, 'cannot wait for the projector lock; trying again');
        await pause(retryDelayMs);
        continue;
      }
      try {
        if (stopping) break;
        const why = await activeWith(lock);
        if (why === 'closed') break; // the service is going down with its NATS connection
        if (why === 'lost')
          log.error({ role: 'standby' }, 'projector lock lost (its connection ended): stopped projecting');
      } catch (err) {
        role = 'standby';
        log.error({ err: (err as Error).message }, 'projector cannot run; giving the lock back and trying again');
        await lock.release(); // before the pause, so that a standby may take over meanwhile
        await pause(retryDelayMs);
      } finally {
        await lock.release();
      }
    }
  })();

  return {
    role: () => role,
    readiness: {
      name: 'projector',
      // A standby is ready: waiting is its job. An active one is ready while its runner is.
      isReady: () => !stopping && (role === 'standby' || runner?.readiness.isReady() === true),
      state: () => role,
    },
    done,
    async stop() {
      stopping = true;
      wake();
      await waiting?.cancel();
      await done;
    },
  };
}

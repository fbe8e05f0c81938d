import pg from 'pg';
import { longLivedClientOptions } from '../connection-options.js';
import type { DatabaseSettings } from '../settings.js';

/** The advisory lock is held: by this process until release(), or until its connection ends. */
export type HeldLock = {
  /** Settles when the connection holding the lock ended (the lock went with it) or release() ran. */
  lost: Promise<void>;
  /** Releases the lock by closing its connection. */
  release(): Promise<void>;
  /** The connection that holds it, which may also LISTEN (it runs nothing else). */
  client: pg.Client;
};

/** A wait for the lock that has not finished: cancel() closes its connection, and the wait rejects. */
export type LockWait = { held: Promise<HeldLock>; cancel(): Promise<void> };

// A session-level advisory lock (bigint key from the name): PostgreSQL releases it when the
// session ends, so a process that dies (kill -9) gives it up as soon as its connection closes.
const keyOf = (name: string) => `tessera ${name}`;

/**
 * Waits on a dedicated connection until it holds the advisory lock `name`: the one active replica
 * of a singleton (the projector) holds it, the others wait here, in PostgreSQL's queue, and the
 * first of them takes over the moment the holder's connection ends.
 */
export function waitForLock(settings: DatabaseSettings, name: string): LockWait {
  const client = newClient(settings);
  const held = (async () => {
    await client.connect();
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [keyOf(name)]);
    return heldBy(client);
  })();
  held.catch(() => client.end().catch(() => {}));
  return { held, cancel: () => client.end().catch(() => {}) };
}

/** The lock `name` if nobody holds it (or waits for it); null otherwise, without waiting. */
export async function tryLock(settings: DatabaseSettings, name: string): Promise<HeldLock | null> {
  const client = newClient(settings);
  try {
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>(
      'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
      [keyOf(name)],
    );
    if (rows[0]?.locked) return heldBy(client);
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  await client.end().catch(() => {});
  return null;
}

function newClient({ url }: DatabaseSettings): pg.Client {
  // Keepalive: a connection to a server that vanished is noticed, and the lock counted as lost.
  const client = new pg.Client(longLivedClientOptions(url));
  client.on('error', () => {}); // reported through `lost` (or the pending query) instead
  return client;
}

function heldBy(client: pg.Client): HeldLock {
  const lost = new Promise<void>((resolve) => {
    client.once('end', () => resolve());
    client.once('error', () => resolve());
  });
  return { lost, client, release: () => client.end().catch(() => {}) };
}

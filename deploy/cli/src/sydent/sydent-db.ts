import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';

/** The schema version this importer reads (Sydent's since v2.0.0, 2019). */
export const SYDENT_SCHEMA_VERSION = 5;
// SQLite's file header: "SQLite format 3\0", then the file change counter at offset 24 (4 bytes,
// big-endian), which every transaction that writes increments.
const HEADER_MAGIC = 'SQLite format 3\0';
const CHANGE_COUNTER_OFFSET = 24;

const REQUIRED_TABLES = [
  'local_threepid_associations',
  'global_threepid_associations',
  'hashing_metadata',
  'invite_tokens',
  'ephemeral_public_keys',
  'accounts',
  'tokens',
  'accepted_terms_urls',
  'threepid_validation_sessions',
  'threepid_token_auths',
  'peers',
] as const;

/** The database cannot be read as a consistent snapshot, or is not one this importer reads. */
export class SydentDbError extends Error {
  override readonly name = 'SydentDbError';
}

export type LocalAssociationRow = {
  id: number;
  medium: string;
  address: string;
  /** null: a tombstone (an unbind). */
  mxid: string | null;
  ts: number | null;
  notBefore: number | null;
  notAfter: number | null;
  lookupHash: string | null;
};

export type GlobalAssociationRow = {
  id: number;
  medium: string;
  address: string;
  mxid: string;
  ts: number;
  notBefore: number;
  notAfter: number;
  originServer: string;
  originId: number;
  sgAssoc: string;
  lookupHash: string | null;
};

export type InviteRow = {
  id: number;
  medium: string;
  address: string;
  roomId: string;
  sender: string;
  token: string;
  /** Seconds. */
  receivedTs: number | null;
  /** Seconds; null: never attached to a bind. */
  sentTs: number | null;
};

/** A `tokens` row with its account (`createdTs` null: no account row). */
export type AccountTokenRow = { token: string; userId: string; createdTs: number | null };

export type SessionRow = {
  sid: number;
  medium: string;
  address: string;
  clientSecret: string;
  validated: boolean;
  mtime: number;
  /** The newest token row of the session; null when it has none. */
  token: string | null;
};

/** What the planner reads; each method streams its rows in a stable order. */
export interface SydentRows {
  localAssociations(): Iterable<LocalAssociationRow>;
  globalAssociations(): Iterable<GlobalAssociationRow>;
  /** `hashing_metadata` row 0; null when Sydent never started on this database. */
  pepper(): string | null;
  /** Peers (any state): their names tell a peer's rows from a renamed server's. */
  peerNames(): string[];
  invites(): Iterable<InviteRow>;
  ephemeralKeys(): Iterable<{ id: number; publicKey: string }>;
  accountTokens(): Iterable<AccountTokenRow>;
  /** Accounts that have no token left (logged out everywhere): nothing to carry. */
  accountsWithoutTokens(): number;
  /** Accepted policy URLs, grouped by user (rows ordered by user). */
  acceptedTerms(): Iterable<{ userId: string; url: string }>;
  sessions(): Iterable<SessionRow>;
}

export interface SydentSnapshot extends SydentRows {
  /** Ends the read transaction and closes the file; throws when the file changed meanwhile. */
  close(): void;
}

const COPY_PREFIX = 'tessera-sydent-snapshot-';

/**
 * Opens Sydent's database as a consistent snapshot: refuses a hot rollback journal or a non-empty
 * write-ahead log (a Sydent still running, or one that crashed mid-write), copies the file into a
 * folder of this process's own, checks that the header's change counter did not move while it was
 * copied, and reads the copy in one read transaction. The WebAssembly build's locks are a
 * `<file>.lock` folder that a killed import would leave behind on Sydent's file (every later run
 * would find the database "locked") and that needs write access to Sydent's folder: the copy
 * keeps both away from it. close() removes the copy; a killed run's copy is removed by the next.
 */
export function openSydentSnapshot(file: string): SydentSnapshot {
  const counterBefore = changeCounterOf(file);
  refuseUnfinishedWrites(file);
  removeCopiesOfDeadRuns();
  const dir = mkdtempSync(join(tmpdir(), `${COPY_PREFIX}${process.pid}-`));
  const copy = join(dir, 'sydent.db');
  const removeCopy = () => rmSync(dir, { recursive: true, force: true });
  let db: sqlite.Database;
  try {
    copyFileSync(file, copy);
    if (changeCounterOf(file) !== counterBefore)
      throw new SydentDbError(
        `${file} changed while it was copied: stop Sydent (or use a copy made with sqlite3 .backup)`,
      );
    db = new sqlite.Database(copy, { readOnly: true });
  } catch (err) {
    removeCopy();
    if (err instanceof SydentDbError) throw err;
    throw new SydentDbError(`${file}: cannot open it: ${(err as Error).message}`);
  }
  try {
    db.exec('BEGIN');
    const version = Number((db.get('PRAGMA user_version') as Row | null)?.user_version);
    if (version < SYDENT_SCHEMA_VERSION)
      throw new SydentDbError(
        `${file}: schema version ${version}, this importer reads ${SYDENT_SCHEMA_VERSION}: let Sydent upgrade its database first (start it once with a current Sydent, then stop it)`,
      );
    if (version !== SYDENT_SCHEMA_VERSION)
      throw new SydentDbError(
        `${file}: schema version ${version} is newer than the ${SYDENT_SCHEMA_VERSION} this importer knows`,
      );
    const tables = new Set(
      (db.all("SELECT name FROM sqlite_master WHERE type = 'table'") as Row[]).map((row) => String(row.name)),
    );
    const missing = REQUIRED_TABLES.filter((table) => !tables.has(table));
    if (missing.length > 0) throw new SydentDbError(`${file}: not a Sydent database (no table ${missing.join(', ')})`);
  } catch (err) {
    db.close();
    removeCopy();
    if (err instanceof SydentDbError) throw err;
    throw new SydentDbError(`${file}: cannot read it: ${(err as Error).message}`);
  }
  return snapshotOf(db, file, counterBefore, removeCopy);
}

/** The copies left by imports that were killed (their process is gone). */
function removeCopiesOfDeadRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(COPY_PREFIX)) continue;
    const pid = Number(name.slice(COPY_PREFIX.length).split('-')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Value = sqlite.SQLiteValue | undefined;
type Row = Record<string, Value>;

function snapshotOf(db: sqlite.Database, file: string, counterBefore: number, removeCopy: () => void): SydentSnapshot {
  function* rows(sql: string): Generator<Row> {
    const statement = db.prepare(sql);
    try {
      yield* statement.iterate() as Iterable<Row>;
    } finally {
      statement.finalize();
    }
  }
  const one = (sql: string): Row | undefined => (db.get(sql) as Row | null) ?? undefined;
  const num = (value: Value): number => Number(value);
  const numOrNull = (value: Value): number | null => (value === null || value === undefined ? null : Number(value));
  const str = (value: Value): string => (value instanceof Uint8Array ? Buffer.from(value).toString() : String(value));
  const strOrNull = (value: Value): string | null => (value === null || value === undefined ? null : str(value));

  return {
    *localAssociations() {
      for (const row of rows(
        'SELECT id, medium, address, mxid, ts, notBefore, notAfter, lookup_hash FROM local_threepid_associations ORDER BY id',
      ))
        yield {
          id: num(row.id),
          medium: str(row.medium),
          address: str(row.address),
          mxid: strOrNull(row.mxid),
          ts: numOrNull(row.ts),
          notBefore: numOrNull(row.notBefore),
          notAfter: numOrNull(row.notAfter),
          lookupHash: strOrNull(row.lookup_hash),
        };
    },
    *globalAssociations() {
      for (const row of rows(
        'SELECT id, medium, address, mxid, ts, notBefore, notAfter, originServer, originId, sgAssoc, lookup_hash ' +
          'FROM global_threepid_associations ORDER BY id',
      ))
        yield {
          id: num(row.id),
          medium: str(row.medium),
          address: str(row.address),
          mxid: str(row.mxid),
          ts: num(row.ts),
          notBefore: num(row.notBefore),
          notAfter: num(row.notAfter),
          originServer: str(row.originServer),
          originId: num(row.originId),
          sgAssoc: str(row.sgAssoc),
          lookupHash: strOrNull(row.lookup_hash),
        };
    },
    pepper() {
      return strOrNull(one('SELECT lookup_pepper FROM hashing_metadata WHERE id = 0')?.lookup_pepper);
    },
    peerNames: () => (db.all('SELECT name FROM peers ORDER BY id') as Row[]).map((row) => str(row.name)),
    *invites() {
      for (const row of rows(
        'SELECT id, medium, address, room_id, sender, token, received_ts, sent_ts FROM invite_tokens ORDER BY id',
      ))
        yield {
          id: num(row.id),
          medium: str(row.medium),
          address: str(row.address),
          roomId: str(row.room_id),
          sender: str(row.sender),
          token: str(row.token),
          receivedTs: numOrNull(row.received_ts),
          sentTs: numOrNull(row.sent_ts),
        };
    },
    *ephemeralKeys() {
      for (const row of rows('SELECT id, public_key FROM ephemeral_public_keys ORDER BY id'))
        yield { id: num(row.id), publicKey: str(row.public_key) };
    },
    *accountTokens() {
      for (const row of rows(
        'SELECT t.token, t.user_id, a.created_ts FROM tokens t LEFT JOIN accounts a ON a.user_id = t.user_id ' +
          'ORDER BY t.user_id, t.token',
      ))
        yield { token: str(row.token), userId: str(row.user_id), createdTs: numOrNull(row.created_ts) };
    },
    accountsWithoutTokens: () =>
      // NOT IN builds one temporary index; a correlated NOT EXISTS would scan tokens per account (no index on user_id).
      num(one('SELECT count(*) AS n FROM accounts WHERE user_id NOT IN (SELECT user_id FROM tokens)')?.n),
    *acceptedTerms() {
      for (const row of rows('SELECT user_id, url FROM accepted_terms_urls ORDER BY user_id, url'))
        yield { userId: str(row.user_id), url: str(row.url) };
    },
    *sessions() {
      for (const row of rows(
        // Joined through each session's newest token row; threepid_token_auths has no index on
        // validationSession, so a correlated subquery would scan it once per session.
        'SELECT s.id, s.medium, s.address, s.clientSecret, s.validated, s.mtime, t.token ' +
          'FROM threepid_validation_sessions s ' +
          'LEFT JOIN (SELECT validationSession, max(id) AS id FROM threepid_token_auths GROUP BY validationSession) newest ' +
          'ON newest.validationSession = s.id LEFT JOIN threepid_token_auths t ON t.id = newest.id ORDER BY s.id',
      ))
        yield {
          sid: num(row.id),
          medium: str(row.medium),
          address: str(row.address),
          clientSecret: str(row.clientSecret),
          validated: num(row.validated) !== 0,
          mtime: num(row.mtime),
          token: strOrNull(row.token),
        };
    },
    close() {
      try {
        if (db.inTransaction) db.exec('COMMIT');
      } finally {
        db.close();
        removeCopy();
      }
      // The copy was consistent; a Sydent still writing would lose what it wrote since.
      if (changeCounterOf(file) !== counterBefore)
        throw new SydentDbError(
          `${file} changed while it was read (its change counter moved): stop Sydent, or import from a copy made with sqlite3 .backup, and run again`,
        );
    },
  };
}

function changeCounterOf(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new SydentDbError(
      `${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const header = Buffer.alloc(CHANGE_COUNTER_OFFSET + 4);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read < header.length || header.toString('latin1', 0, HEADER_MAGIC.length) !== HEADER_MAGIC)
      throw new SydentDbError(`${file}: not an SQLite database`);
    return header.readUInt32BE(CHANGE_COUNTER_OFFSET);
  } finally {
    closeSync(fd);
  }
}

function refuseUnfinishedWrites(file: string): void {
  const sizeOf = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  if (sizeOf(`${file}-journal`) > 0)
    throw new SydentDbError(
      `${file}-journal exists: a write is unfinished (Sydent is running, or crashed mid-write). Stop Sydent; ` +
        `then "sqlite3 ${file} 'PRAGMA integrity_check'" rolls it back, or import from a copy made with sqlite3 .backup`,
    );
  if (sizeOf(`${file}-wal`) > 0)
    throw new SydentDbError(
      `${file}-wal is not empty: committed writes are still in the write-ahead log. Stop Sydent, then ` +
        `"sqlite3 ${file} 'PRAGMA wal_checkpoint(TRUNCATE)'", or import from a copy made with sqlite3 .backup`,
    );
}

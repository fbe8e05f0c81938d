// Writes a synthetic Sydent database for the importer's tests and benchmarks: the real schema
// (copied from the sample database's sqlite_master, user_version 5) and made-up rows in the shapes
// Sydent writes. Deterministic (a seeded generator): the same options give the same database.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { signJson } from '@tessera/canonical-json';
import sqlite from 'node-sqlite3-wasm';

export const BENCH_SERVER = 'id.bench.test';
export const BENCH_PEER = 'peer.bench.test';
export const BENCH_PEPPER = 'bNchP';
const HUNDRED_YEARS = 3_153_600_000_000;
const DAY = 86_400_000;
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALPHANUMERIC = `${LETTERS}0123456789`;

export type GeneratorOptions = {
  /** Distinct addresses with a binding (own, and about a tenth from the peer). */
  associations: number;
  invites: number;
  accounts: number;
  sessions: number;
  /** Adds duplicates from before Sydent 2.4: the same address in another case, older or newer. */
  mixedCase: boolean;
  /** The clock the rows are made around (sessions: half younger than 24 h at this time). */
  now: number;
  /** The database whose schema is copied. */
  schemaFrom: string;
  /**
   * Sydent's key (the conf's): own rows are signed with it as Sydent signed them, so that the
   * import's check that signing holds that key passes; peers' rows get made-up signatures.
   */
  signingSeed: Uint8Array;
};

/** What the generator wrote, for checks: the expected live mxid per folded address among others. */
export type Generated = {
  localRows: number;
  globalRows: number;
  /** Addresses whose newest binding is a mixed-case duplicate or whose older one is. */
  mixedCaseDuplicates: number;
  expectedLive: number;
};

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A throwaway signing seed for a generated deployment (the generator plays Sydent, which signs its rows). */
export const newBenchSeed = (): Uint8Array => new Uint8Array(randomBytes(32));

/** A sydent.conf for the generated database: its server name, a public URL, its throwaway key. */
export function writeBenchSydentConf(file: string, signingSeed: Uint8Array): void {
  const seed = Buffer.from(signingSeed).toString('base64').replace(/=+$/, '');
  const lines = [
    '[general]',
    `server.name = ${BENCH_SERVER}`,
    '[http]',
    'client_http_base = https://id.bench.test',
    '[crypto]',
    `ed25519.signingkey = ed25519 0 ${seed}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

const hashOf = (address: string, medium: string) =>
  createHash('sha256').update(`${address} ${medium} ${BENCH_PEPPER}`).digest('base64url');

export function generateSydentDb(file: string, options: GeneratorOptions): Generated {
  const next = random(11);
  const text = (alphabet: string, length: number) => {
    let result = '';
    for (let i = 0; i < length; i++) result += alphabet[Math.floor(next() * alphabet.length)];
    return result;
  };
  const source = new sqlite.Database(options.schemaFrom, { readOnly: true });
  const schema = (
    source.all('SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid') as {
      type: string;
      name: string;
      sql: string;
    }[]
  ).filter(({ name }) => name !== 'sqlite_sequence');
  source.close();

  const db = new sqlite.Database(file);
  const result: Generated = { localRows: 0, globalRows: 0, mixedCaseDuplicates: 0, expectedLive: 0 };
  try {
    // Sydent's schema declares a foreign key to a table that does not exist (threepid_validations); SQLite
    // enforces none by default, this binding does.
    db.exec('PRAGMA foreign_keys = OFF; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;');
    db.exec('BEGIN');
    for (const { sql } of [
      ...schema.filter(({ type }) => type === 'table'),
      ...schema.filter(({ type }) => type !== 'table'),
    ])
      db.exec(sql);
    db.exec('PRAGMA user_version = 5');
    db.run('INSERT INTO hashing_metadata (id, lookup_pepper) VALUES (0, ?)', [BENCH_PEPPER]);
    db.run('INSERT INTO peers (name, port, lastSentVersion, lastPokeSucceededAt, active) VALUES (?, NULL, 0, ?, 1)', [
      BENCH_PEER,
      options.now,
    ]);
    const local = db.prepare(
      'INSERT INTO local_threepid_associations (id, medium, address, mxid, ts, notBefore, notAfter, lookup_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const global = db.prepare(
      'INSERT INTO global_threepid_associations (medium, address, mxid, ts, notBefore, notAfter, originServer, originId, sgAssoc, lookup_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    let localId = 0;
    const signed = (
      medium: string,
      address: string,
      mxid: string,
      ts: number,
      notAfter: number,
      origin: string,
      extra = {},
    ) => {
      const fields = { medium, address, mxid, ts, not_before: ts, not_after: notAfter, ...extra };
      return JSON.stringify(
        origin === BENCH_SERVER
          ? signJson(fields, { entity: BENCH_SERVER, keyId: 'ed25519:0', seed: options.signingSeed })
          : { ...fields, signatures: { [origin]: { 'ed25519:0': text(ALPHANUMERIC, 86) } } },
      );
    };
    const bindOwn = (address: string, mxid: string, ts: number, extra = {}) => {
      const id = ++localId;
      local.run([id, 'email', address, mxid, ts, ts, ts + HUNDRED_YEARS, hashOf(address, 'email')]);
      global.run([
        'email',
        address,
        mxid,
        ts,
        ts,
        ts + HUNDRED_YEARS,
        BENCH_SERVER,
        id,
        signed('email', address, mxid, ts, ts + HUNDRED_YEARS, BENCH_SERVER, extra),
        hashOf(address, 'email'),
      ]);
      result.localRows++;
      result.globalRows++;
      return id;
    };
    const bindPeer = (address: string, mxid: string, ts: number, notAfter: number, originId: number) => {
      global.run([
        'email',
        address.toLowerCase(),
        mxid,
        ts,
        ts,
        notAfter,
        BENCH_PEER,
        originId,
        signed('email', address, mxid, ts, notAfter, BENCH_PEER),
        hashOf(address.toLowerCase(), 'email'),
      ]);
      result.globalRows++;
    };
    const base = options.now - 400 * DAY;
    for (let i = 0; i < options.associations; i++) {
      const ts = base + i;
      const kind = i % 100;
      if (kind < 10) {
        // From the peer: mostly live; some expired, some older than an own binding of the same address.
        const notAfter = kind === 0 ? options.now - DAY : ts + HUNDRED_YEARS;
        bindPeer(`Peer${i}@Bench.example`, `@p${i}:peer-hs.bench`, ts, notAfter, i);
        if (kind === 1) bindOwn(`peer${i}@bench.example`, `@u${i}:hs.bench`, ts + 1);
        if (kind !== 0) result.expectedLive++;
        continue;
      }
      const address = `user${i}@bench.example`;
      if (kind === 10) {
        // Bound, then unbound: the tombstone replaces the local row; the global row was deleted.
        const id = ++localId;
        local.run([id, 'email', address, null, ts, null, null, null]);
        result.localRows++;
        continue;
      }
      if (kind === 11) {
        // Bound, then bound again to another user: the stale global row stays (its local row is gone).
        const stale = ++localId;
        global.run([
          'email',
          address,
          `@old${i}:hs.bench`,
          ts,
          ts,
          ts + HUNDRED_YEARS,
          BENCH_SERVER,
          stale,
          signed('email', address, `@old${i}:hs.bench`, ts, ts + HUNDRED_YEARS, BENCH_SERVER),
          hashOf(address, 'email'),
        ]);
        result.globalRows++;
      }
      // Sydent ≥ 2.5 leaked another user's invites into later associations.
      const extra = kind === 12 ? { invites: [{ token: text(LETTERS, 128), address: 'someone@else.example' }] } : {};
      if (options.mixedCase && (kind === 13 || kind === 14)) {
        // Before 2.4: the same mailbox in another case; newer (kind 13) or older (14) than the folded row.
        const mixed = `User${i}@Bench.Example`;
        bindOwn(mixed, `@mixed${i}:hs.bench`, kind === 13 ? ts + 2 : ts - 2);
        result.mixedCaseDuplicates++;
      }
      bindOwn(address, `@u${i}:hs.bench`, ts + (kind === 11 ? 1 : 0), extra);
      result.expectedLive++;
    }
    local.finalize();
    global.finalize();
    db.run("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('local_threepid_associations', ?)", [localId]);

    const invite = db.prepare(
      'INSERT INTO invite_tokens (medium, address, room_id, sender, token, received_ts, sent_ts) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const key = db.prepare(
      'INSERT INTO ephemeral_public_keys (public_key, verify_count, persistence_ts) VALUES (?, ?, ?)',
    );
    for (let i = 0; i < options.invites; i++) {
      const received = Math.floor((base + i * 1000) / 1000);
      invite.run([
        'email',
        `invitee${i}@bench.example`,
        `!room${i % 5000}:hs.bench`,
        `@u${i % 1000}:hs.bench`,
        text(LETTERS, 128),
        received,
        i % 5 === 0 ? received + 60 : null,
      ]);
      key.run([Buffer.from(text(ALPHANUMERIC, 32)).toString('base64url').slice(0, 43), i % 3, received]);
    }
    invite.finalize();
    key.finalize();

    const account = db.prepare('INSERT INTO accounts (user_id, created_ts, consent_version) VALUES (?, ?, ?)');
    const token = db.prepare('INSERT INTO tokens (token, user_id) VALUES (?, ?)');
    const terms = db.prepare('INSERT INTO accepted_terms_urls (user_id, url) VALUES (?, ?)');
    for (let i = 0; i < options.accounts; i++) {
      const user = `@acct${i}:hs.bench`;
      account.run([user, base + i, i % 4 === 0 ? null : 'tos1']);
      token.run([text(ALPHANUMERIC, 64), user]);
      if (i % 10 === 0) token.run([text(ALPHANUMERIC, 64), user]);
      terms.run([user, 'https://id.bench.test/terms/privacy-1.0-en.html']);
      if (i % 4 !== 0) terms.run([user, 'https://id.bench.test/terms/tos-1.0-en.html']);
    }
    account.finalize();
    token.finalize();
    terms.finalize();

    const session = db.prepare(
      'INSERT INTO threepid_validation_sessions (id, medium, address, clientSecret, validated, mtime) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const sessionToken = db.prepare(
      'INSERT INTO threepid_token_auths (validationSession, token, sendAttemptNumber) VALUES (?, ?, -1)',
    );
    for (let i = 0; i < options.sessions; i++) {
      const sid = i * 2_000 + 1 + Math.floor(next() * 1_999); // unique, random-looking, < 2^31
      const mtime = i % 2 === 0 ? options.now - Math.floor(next() * (DAY - 60_000)) : options.now - DAY - i;
      session.run([sid, 'email', `Session${i}@Bench.example`, text(ALPHANUMERIC, 16), i % 3 === 0 ? 1 : 0, mtime]);
      sessionToken.run([sid, text(ALPHANUMERIC, 32)]);
    }
    session.finalize();
    sessionToken.finalize();
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  return result;
}

import type { Database } from '@tessera/db';
import { type Kysely, sql } from 'kysely';

/** A bound 3PID as lookups answer it. */
export type Found = { associationJson: string; mxid: string };

/** A live pepper of the hashed index (its index is complete). */
export type LivePepper = { pepperId: string; pepper: string; createdSeq: number };

/**
 * The directory's queries on the read model the projector writes. Each answers a whole call in
 * one statement, and only associations valid now (not_before ≤ now ≤ not_after).
 */
export interface ReadModel {
  /** By address key. */
  byAddrKeys(addrKeys: readonly string[], now: number): Promise<Map<string, Found>>;
  /** By address key, the bound user only (no signed JSON read: bulk_lookup and `none` lookups). */
  mxidsByAddrKeys(addrKeys: readonly string[], now: number): Promise<Map<string, string>>;
  /** By hash under one pepper: the bound user of each hash found. */
  byHashes(pepperId: string, hashes: readonly string[], now: number): Promise<Map<string, string>>;
  /** The live peppers, newest (the current one) first. */
  peppers(): Promise<LivePepper[]>;
  /** Whether the projector's migrations made the read model's tables. */
  tablesExist(): Promise<boolean>;
}

export function readModelOf(db: Kysely<Database>): ReadModel {
  return {
    async byAddrKeys(addrKeys, now) {
      if (addrKeys.length === 0) return new Map();
      const rows = await db
        .selectFrom('association')
        .select(['addr_key', 'association_json', 'mxid'])
        .where(sql<boolean>`addr_key = any(${[...new Set(addrKeys)]}::text[])`)
        .where('not_before', '<=', String(now))
        .where('not_after', '>=', String(now))
        .execute();
      return new Map(rows.map((row) => [row.addr_key, { associationJson: row.association_json, mxid: row.mxid }]));
    },
    async mxidsByAddrKeys(addrKeys, now) {
      if (addrKeys.length === 0) return new Map();
      const rows = await db
        .selectFrom('association')
        .select(['addr_key', 'mxid'])
        .where(sql<boolean>`addr_key = any(${[...new Set(addrKeys)]}::text[])`)
        .where('not_before', '<=', String(now))
        .where('not_after', '>=', String(now))
        .execute();
      return new Map(rows.map((row) => [row.addr_key, row.mxid]));
    },
    async byHashes(pepperId, hashes, now) {
      if (hashes.length === 0) return new Map();
      const rows = await db
        .selectFrom('lookup_hash as h')
        .innerJoin('association as a', 'a.addr_key', 'h.addr_key')
        .select(['h.hash', 'a.mxid'])
        .where('h.pepper_id', '=', pepperId)
        .where(sql<boolean>`h.hash = any(${[...new Set(hashes)]}::text[])`)
        .where('a.not_before', '<=', String(now))
        .where('a.not_after', '>=', String(now))
        .execute();
      return new Map(rows.map((row) => [row.hash, row.mxid]));
    },
    async peppers() {
      const rows = await db
        .selectFrom('lookup_pepper')
        .select(['pepper_id', 'pepper', 'created_seq'])
        .orderBy('created_seq', 'desc')
        .execute();
      return rows.map((row) => ({ pepperId: row.pepper_id, pepper: row.pepper, createdSeq: Number(row.created_seq) }));
    },
    async tablesExist() {
      const { rows } = await sql<{ found: boolean }>`
        select to_regclass('association') is not null
           and to_regclass('lookup_pepper') is not null
           and to_regclass('lookup_hash') is not null as found`.execute(db);
      return rows[0]?.found === true;
    },
  };
}

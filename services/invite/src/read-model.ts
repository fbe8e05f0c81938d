import type { Database } from '@tessera/db';
import { type Kysely, sql } from 'kysely';

/**
 * The invite service's queries on the read model the projector writes (the associations and the
 * invites are one projection, so one checkpoint covers both). Each is one indexed statement.
 */
export interface ReadModel {
  /** The Matrix user bound to the address key now, or null. */
  boundMxid(addrKey: string, now: number): Promise<string | null>;
  /**
   * The address key's current binding: its id and its signed association as bind answered it
   * (the projector's copy; the stream holds it sealed), or null when it is not bound.
   */
  currentAssociation(addrKey: string): Promise<{ bindingId: string; associationJson: string } | null>;
  /**
   * Whether an invite that is neither revoked nor expired was issued this ephemeral key, or it was
   * imported (valid for good). Never for '' (the imported invites' key: they have none of their own).
   */
  ephemeralKeyIsValid(urlSafeUnpaddedKey: string, now: number): Promise<boolean>;
  /** Which of these keys were imported already (the projector's table of EphemeralKeysImported). */
  importedEphemeralKeys(urlSafeUnpaddedKeys: readonly string[]): Promise<Set<string>>;
  /**
   * The invites an onbind call for the address key carries: those pending and unexpired, and those
   * this call claimed already (a redelivery after a crash); oldest first.
   */
  invitesForOnbind(addrKey: string, onbindId: string, now: number): Promise<string[]>;
  /** The pending invites of the address key: what revoke ends (one handed to a call is beyond it). */
  revocableInvites(addrKey: string): Promise<string[]>;
  /** When the oldest onbind call not yet delivered nor abandoned was requested, or null. */
  oldestRequestedOnbind(): Promise<Date | null>;
  /** Whether the projector's migrations made the tables this service reads. */
  tablesExist(): Promise<boolean>;
}

export function readModelOf(db: Kysely<Database>): ReadModel {
  return {
    async boundMxid(addrKey, now) {
      const row = await db
        .selectFrom('association')
        .select('mxid')
        .where('addr_key', '=', addrKey)
        .where('not_before', '<=', String(now))
        .where('not_after', '>=', String(now))
        .executeTakeFirst();
      return row?.mxid ?? null;
    },
    async currentAssociation(addrKey) {
      const row = await db
        .selectFrom('association')
        .select(['binding_id', 'association_json'])
        .where('addr_key', '=', addrKey)
        .executeTakeFirst();
      return row === undefined ? null : { bindingId: row.binding_id, associationJson: row.association_json };
    },
    async ephemeralKeyIsValid(key, now) {
      if (key === '') return false;
      const row = await db
        .selectFrom('invite')
        .select(sql<number>`1`.as('valid'))
        .where('ephemeral_public_key', '=', key)
        .where('status', '!=', 'revoked')
        .where('expires_at', '>', new Date(now))
        .unionAll(
          db.selectFrom('imported_ephemeral_key').select(sql<number>`1`.as('valid')).where('public_key', '=', key),
        )
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async importedEphemeralKeys(keys) {
      if (keys.length === 0) return new Set();
      const rows = await db
        .selectFrom('imported_ephemeral_key')
        .select('public_key')
        .where('public_key', '=', sql<string>`any(${[...keys]})`)
        .execute();
      return new Set(rows.map((row) => row.public_key));
    },
    async invitesForOnbind(addrKey, onbindId, now) {
      const rows = await db
        .selectFrom('invite')
        .select('invite_id')
        .where('addr_key', '=', addrKey)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'pending'), eb('expires_at', '>', new Date(now))]),
            eb.and([eb('status', '=', 'claimed'), eb('onbind_id', '=', onbindId)]),
          ]),
        )
        .orderBy('stored_seq')
        .execute();
      return rows.map((row) => row.invite_id);
    },
    async revocableInvites(addrKey) {
      const rows = await db
        .selectFrom('invite')
        .select('invite_id')
        .where('addr_key', '=', addrKey)
        .where('status', '=', 'pending')
        .orderBy('stored_seq')
        .execute();
      return rows.map((row) => row.invite_id);
    },
    async oldestRequestedOnbind() {
      const row = await db
        .selectFrom('onbind')
        .select('requested_at')
        .where('status', '=', 'requested')
        .orderBy('requested_at')
        .limit(1)
        .executeTakeFirst();
      return row?.requested_at ?? null;
    },
    async tablesExist() {
      const { rows } = await sql<{ found: boolean }>`
        select to_regclass('association') is not null
           and to_regclass('invite') is not null
           and to_regclass('onbind') is not null
           and to_regclass('imported_ephemeral_key') is not null as found`.execute(db);
      return rows[0]?.found === true;
    },
  };
}

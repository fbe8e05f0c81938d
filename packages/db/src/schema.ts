import type { ColumnType } from 'kysely';

// The read model's tables as the queries see them. Nullable is `| null`, never `?`. Migrations do
// not use these types (they take Kysely<any>, frozen in time): this is the schema after the last one.

/** pg reads int8 as a string (it may not fit a JavaScript number); written from any of the three. */
export type Int8 = ColumnType<string, bigint | number | string, bigint | number | string>;

/** Where each projection stands in its stream: the last stream sequence applied to its tables. */
export interface ProjectorCheckpointTable {
  /** The projection's name (one row each); its tables are written only with this row locked. */
  projection: string;
  /** The JetStream stream the sequence counts in: a projection never moves to another stream silently. */
  stream: string;
  /** 0 before the first message. */
  last_seq: Int8;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/**
 * One row per bound 3PID (the newest binding of its address key); unbinding deletes it. Written by
 * the `associations` projection from AssociationBound / AssociationUnbound.
 */
export interface AssociationTable {
  /** HMAC of medium and normalised address under the server secret (the stream's `assoc.<addr_key>`). */
  addr_key: string;
  medium: 'email' | 'msisdn';
  /** Normalised: case-folded email, or E.164 digits without "+". */
  address: string;
  mxid: string;
  binding_id: string;
  ts: Int8;
  not_before: Int8;
  not_after: Int8;
  /** The signed association as canonical JSON, exactly as bind answered it: v1 lookup answers it. */
  association_json: string;
  /**
   * The address forms the hashed index holds: the normalised address, then (email, where it
   * differs) the form Element's matrix-js-sdk hashes (`toLowerCase`).
   */
  lookup_forms: string[];
  /** The stream sequence of its AssociationBound. */
  bound_seq: Int8;
}

/** The live peppers of the v2 hashed lookup: a row exists only once its index is complete. */
export interface LookupPepperTable {
  pepper_id: string;
  pepper: string;
  /** The stream sequence of its PepperCreated: the newest pepper is the current one. */
  created_seq: Int8;
  created_at: ColumnType<Date, Date | string, Date | string>;
}

/**
 * The v2 hashed index: for each live pepper and each lookup form of each association,
 * base64url(sha256("<form> <medium> <pepper>")) without padding.
 */
export interface LookupHashTable {
  pepper_id: string;
  hash: string;
  addr_key: string;
}

export type InviteStatus = 'pending' | 'claimed' | 'delivered' | 'abandoned' | 'revoked';

/**
 * One row per stored invite (InviteStored), in the same projection as the associations. Pending
 * until an onbind call claims it (InviteClaimed: `claimed`, `onbind_id` set); then `delivered` or
 * `abandoned` with its call; `revoked` by an operator. Expiry is not a status: readers compare
 * `expires_at` with their clock.
 */
export interface InviteTable {
  /** HMAC of the token under the server secret (the stream's `invite.<invite_id>`). */
  invite_id: string;
  medium: 'email' | 'msisdn';
  addr_key: string;
  sender_key: string;
  /** As store-invite answered it: unpadded URL-safe base64. */
  ephemeral_public_key: string;
  status: InviteStatus;
  onbind_id: string | null;
  stored_at: ColumnType<Date, Date | string, Date | string>;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  stored_seq: Int8;
}

/** One row per onbind call (OnbindRequested), with the notifier's progress on it. */
export interface OnbindTable {
  onbind_id: string;
  addr_key: string;
  status: 'requested' | 'delivered' | 'abandoned';
  /** Attempts started so far (OnbindAttemptStarted). */
  attempts: ColumnType<number, number | undefined, number>;
  requested_at: ColumnType<Date, Date | string, Date | string>;
  give_up_at: ColumnType<Date, Date | string, Date | string>;
  requested_seq: Int8;
}

/**
 * Ephemeral public keys imported from another server (EphemeralKeysImported, Sydent's
 * `ephemeral_public_keys`): valid for good, linked to no invite (the imported invites have none).
 */
export interface ImportedEphemeralKeyTable {
  /** Unpadded URL-safe base64, the form isvalid compares. */
  public_key: string;
  /** The stream sequence of the first batch that held it. */
  imported_seq: Int8;
}

export interface Database {
  projector_checkpoint: ProjectorCheckpointTable;
  association: AssociationTable;
  lookup_pepper: LookupPepperTable;
  lookup_hash: LookupHashTable;
  invite: InviteTable;
  onbind: OnbindTable;
  imported_ephemeral_key: ImportedEphemeralKeyTable;
}

// The admin API's import requests (`tessera import sydent`): what the CLI sends to each service's
// admin API, in one place for both sides. Every request is a POST with a JSON body; every batch
// answer lists one outcome per item, in the items' order. Each service validates what it gets (an
// item it cannot take is `refused` with a reason; the others go on) and writes only its own
// aggregates, so an import goes through the same event path, rights and projector as live traffic.
//
// Idempotent by construction: every item names what it came from (`importId`, the token, the sid,
// the keys themselves), each service derives its aggregate ids from that, and an item already in
// the store answers `present` and appends nothing. Resuming after a crash is running the same
// import again.

/** Items per request; a larger batch is refused with 413 M_TOO_LARGE. */
export const MAX_IMPORT_BATCH = 1_000;

export const IMPORT_PATHS = {
  directory: {
    pepper: '/_tessera/directory/v1/import/pepper',
    checkSignature: '/_tessera/directory/v1/import/check-signature',
    associations: '/_tessera/directory/v1/import/associations',
  },
  session: {
    accounts: '/_tessera/session/v1/import/accounts',
    terms: '/_tessera/session/v1/import/terms',
    sessions: '/_tessera/session/v1/import/sessions',
  },
  invite: {
    invites: '/_tessera/invite/v1/import/invites',
    ephemeralKeys: '/_tessera/invite/v1/import/ephemeral-keys',
  },
} as const;

/** `imported`: appended now; `present`: already in the store, nothing appended; `refused`: see `reason`. */
export type ImportOutcome = 'imported' | 'present' | 'refused';

export type ItemOutcome = { outcome: ImportOutcome; reason?: string };

/** `POST <path> {items: [...]}` answers this; `outcomes[i]` is about `items[i]`. */
export type ImportBatchAnswer<O extends ItemOutcome = ItemOutcome> = { outcomes: O[] };

export type ImportBatch<T> = { items: T[] };

// --- directory -----------------------------------------------------------------------------------

/**
 * `POST pepper {pepper}` → `{outcome}`: the lookup pepper to keep (Sydent's `hashing_metadata`).
 * `present` when this pepper was ever created here (current, or rotated away since: an import run
 * again changes nothing); otherwise a PepperCreated makes it the current pepper once its index is
 * complete (the one before stays accepted for the grace period).
 */
export type PepperImport = { pepper: string };

/** The signed association's six fields (Sydent's sgAssoc without anything else). */
export type AssociationFields = {
  medium: 'email' | 'msisdn';
  /** As signed: for a replication peer's row, the case its sender used (`Ivy@Example.org`). */
  address: string;
  mxid: string;
  /** Milliseconds, kept exactly: the signatures cover them, and v1 lookup answers them. */
  ts: number;
  not_before: number;
  not_after: number;
};

/**
 * One association to bind as it was: `association` is stored with the signatures given, and the
 * directory adds its own over the six fields with signing's current key under TESSERA_SERVER_NAME
 * (replacing an entry of that key id, keeping every other). Ed25519 is deterministic, so a row
 * Sydent signed cleanly with the same key gets the same signature again.
 *
 * The 3PID is the normalised `association.address`. The directory refuses an item whose 3PID
 * already has a binding with a newer or equal `ts` that is not this import's (`present` when it
 * is this import's, by `importId`); an older binding is replaced, as a bind would.
 */
export type AssociationImport = {
  /** Stable and unique per source row, e.g. `sydent:<originServer>:<originId>`: names the binding. */
  importId: string;
  association: AssociationFields & { signatures?: Record<string, Record<string, string>> };
};

/**
 * `ourSignature`: how the directory's signature compares with the one given for the same key id:
 * `same` (a clean own row signed with the key signing holds), `changed` (a signature was given
 * for that key id and ours differs: another key under the same id), `added` (none was given for
 * that key id: a peer's row, or an own row whose signatures were dropped with its leaked fields).
 */
export type AssociationOutcome = ItemOutcome & { ourSignature?: 'same' | 'changed' | 'added' };

/**
 * `POST check-signature {association}` → SignatureCheck: signs the six fields as an import would,
 * and stores nothing. Before sending anything, the CLI sends a clean row Sydent signed: unless it
 * comes back `same`, signing does not hold Sydent's key (it made its own before the key was handed
 * over, or reads another file), and importing would sign rows and record invites with a key no
 * room knows.
 */
export type SignatureCheckRequest = { association: AssociationImport['association'] };
export type SignatureCheck = { keyId: string; ourSignature: 'same' | 'changed' | 'added' };

// --- session -------------------------------------------------------------------------------------

/** A v2 access token and its account (Sydent's `tokens` joined to `accounts`). */
export type AccountImport = {
  /** The bearer token as issued; only its hash is stored. */
  token: string;
  userId: string;
  /** When the account was created (ms), kept as the event's time. */
  createdTs: number;
};

/** Every policy URL a user accepted (Sydent's `accepted_terms_urls`), in any order. */
export type TermsImport = { userId: string; urls: string[] };

/**
 * A validation session younger than 24 h (Sydent's `threepid_validation_sessions` with its token):
 * the session goes on as if it had been started here at `mtime`, with the same sid, secret and
 * token (the mailed link keeps working), and nothing is sent again. An expired one is `refused`.
 */
export type SessionImport = {
  /** Sydent's integer sid, as a string (Tessera's own sids never look like this). */
  sid: string;
  medium: 'email' | 'msisdn';
  /** As entered (sessions were never case-folded). */
  address: string;
  clientSecret: string;
  token: string;
  validated: boolean;
  /** Last modification (ms): the 24 h run from here. */
  mtime: number;
};

// --- invite --------------------------------------------------------------------------------------

/**
 * One stored invite (Sydent's `invite_tokens`). Pending when `sentTs` is null: the next binding of
 * the address delivers it by onbind, signed with the key the invite service records (the current
 * one, the imported key). With `sentTs`, Sydent had already attempted it: it is stored claimed, never
 * delivered again, and sign-ed25519 still answers for it.
 */
export type InviteImport = {
  /** The token as stored (Sydent: 128 letters); its digest names the invite. */
  token: string;
  medium: 'email';
  /** As stored; the invite service normalises it. */
  address: string;
  roomId: string;
  sender: string;
  /** Milliseconds (Sydent stores seconds: the CLI converts). */
  receivedTs: number;
  sentTs: number | null;
};

/** `POST ephemeral-keys {items: [{publicKey}]}`: keys that stay valid for good. */
export type EphemeralKeyImport = { publicKey: string };

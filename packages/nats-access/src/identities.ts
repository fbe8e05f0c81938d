import type { AggregateType, StreamName } from '@tessera/event-store';
import { RATE_LIMIT_BUCKET } from '@tessera/rate-limit';

// Who may do what on NATS: one table, from which come the nats-server permissions (permissions.ts),
// the checks each service makes at start (check-provisioned.ts) and the README's table. Each
// service connects as its own identity; analytics reads the lasting stream; admin provisions.

/** The durable consumers, by their one owner. A consumer's name is part of its permissions. */
export const DURABLES = {
  notifierTokens: 'notifier-tokens',
  notifierInvites: 'notifier-invites',
  notifierOnbind: 'notifier-onbind',
  inviteBindings: 'invite-bindings',
  projector: 'projector',
  analytics: 'analytics',
} as const;

/**
 * Consumers on the data-key bucket's stream that follow one aggregate type's keys as they are
 * created (and erased), by their one owner. The name is part of the permissions, as a durable's is.
 */
export const KEY_FOLLOWERS = {
  projectorAssoc: 'projector-assoc-keys',
} as const;

export type Grants = {
  /** Aggregate types whose subjects (`tessera.<type>.<id>`) it appends to: no other identity may. */
  appends: readonly AggregateType[];
  /** Streams it loads aggregates from, by direct get (any replica answers, no consumer needed). */
  reads: readonly StreamName[];
  /** Aggregate types it follows live, with a core subscription to `tessera.<type>.>`. */
  watches: readonly AggregateType[];
  /**
   * Aggregate types whose current state it keeps without reading the rest of their stream: it
   * watches them, lists their subjects (stream info) and reads the last message of each by its
   * subject (direct get), nothing by sequence.
   */
  follows: readonly AggregateType[];
  /** Its durable consumers: it may create, update, read, ack and delete these and no other. */
  consumers: readonly { stream: StreamName; durable: string }[];
  /**
   * The data-key bucket, by aggregate type: `open` reads keys (to unseal), `seal` also creates
   * them; `erase` deletes them for good (crypto-shredding). A purge is a publish on the key's own
   * subject, which NATS cannot tell from a put: erasing a type's keys is also writing them.
   */
  dataKeys: {
    open: readonly AggregateType[];
    seal: readonly AggregateType[];
    erase: readonly AggregateType[];
    /**
     * Its key followers: a consumer named `consumer`, filtered to the keys of `type` (of the types
     * it opens), that it may create, read, pull from and delete. Saves a fetch per key when it
     * opens keys in the order they were made (the projector replaying bindings).
     */
    follow?: readonly { type: AggregateType; consumer: string }[];
  };
  /** Other buckets it reads and writes. */
  buckets: readonly string[];
};

const none: Grants = {
  appends: [],
  reads: [],
  watches: [],
  follows: [],
  consumers: [],
  dataKeys: { open: [], seal: [], erase: [] },
  buckets: [],
};

/**
 * Every identity but admin. Services not written yet (directory, invite, projector) have the rights
 * DESIGN.md gives them, so that their first version runs under the same rules.
 */
export const IDENTITIES = {
  // Follows its own keys' revocations while it runs (it reads them by subject with its stream rights).
  signing: { ...none, appends: ['key'], reads: ['TESSERA_EVENTS'], watches: ['key'] },
  session: {
    ...none,
    appends: ['session', 'account', 'terms'],
    reads: ['TESSERA_SHORT', 'TESSERA_EVENTS'],
    // Delivery outcomes it waits for; accounts and terms whose cached state it drops on any change.
    watches: ['delivery', 'account', 'terms'],
    dataKeys: { open: [], seal: ['session', 'account'], erase: [] },
  },
  notifier: {
    ...none,
    // Mail (validation and invite) on `delivery`; onbind calls' attempts on `onbind_delivery`.
    appends: ['delivery', 'onbind_delivery'],
    reads: ['TESSERA_SHORT', 'TESSERA_EVENTS'],
    consumers: [
      { stream: 'TESSERA_SHORT', durable: DURABLES.notifierTokens },
      { stream: 'TESSERA_EVENTS', durable: DURABLES.notifierInvites },
      { stream: 'TESSERA_EVENTS', durable: DURABLES.notifierOnbind },
    ],
    // Erases an invite's mail key once the mail is out, and an onbind call's key once it is done.
    dataKeys: { open: ['session', 'invite', 'onbind'], seal: [], erase: ['invite', 'onbind'] },
  },
  gateway: {
    ...none,
    follows: ['key'], // answers pubkey and isvalid from signing's public key events
    // Drops a cached access-token check when its account or any user's terms change.
    watches: ['account', 'terms'],
    buckets: [RATE_LIMIT_BUCKET], // counters shared by its replicas
  },
  directory: {
    ...none,
    appends: ['assoc', 'pepper'],
    reads: ['TESSERA_EVENTS'],
    dataKeys: { open: [], seal: ['assoc'], erase: ['assoc'] }, // unbind erases the association's data
  },
  invite: {
    ...none,
    // Imported ephemeral keys (Sydent's) on `ephemeral_keys`, beside its invites and onbind calls.
    appends: ['invite', 'onbind', 'ephemeral_keys'],
    reads: ['TESSERA_EVENTS'],
    consumers: [{ stream: 'TESSERA_EVENTS', durable: DURABLES.inviteBindings }],
    // Opens its invites' data to build the onbind call (the binding's signed association comes
    // from the read model, so it opens no association); erases a revoked invite's keys.
    dataKeys: { open: ['invite'], seal: ['invite', 'onbind'], erase: ['invite'] },
  },
  projector: {
    ...none,
    reads: ['TESSERA_EVENTS'],
    consumers: [{ stream: 'TESSERA_EVENTS', durable: DURABLES.projector }],
    // Opens addresses to build the hashed index; follows new binding keys, so as not to fetch each one.
    dataKeys: {
      open: ['assoc'],
      seal: [],
      erase: [],
      follow: [{ type: 'assoc', consumer: KEY_FOLLOWERS.projectorAssoc }],
    },
  },
  analytics: {
    ...none,
    reads: ['TESSERA_EVENTS'],
    consumers: [{ stream: 'TESSERA_EVENTS', durable: DURABLES.analytics }],
  },
} as const satisfies Record<string, Grants>;

export type ServiceIdentity = keyof typeof IDENTITIES;
/** admin creates and changes streams and buckets (provisioning); it has every right. */
export type IdentityName = ServiceIdentity | 'admin';

export const IDENTITY_NAMES = ['admin', ...Object.keys(IDENTITIES)] as IdentityName[];

export function isIdentityName(value: string): value is IdentityName {
  return value === 'admin' || Object.hasOwn(IDENTITIES, value);
}

export function grantsOf(identity: ServiceIdentity): Grants {
  return IDENTITIES[identity];
}

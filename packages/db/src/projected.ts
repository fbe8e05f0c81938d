/**
 * The projection that builds association, lookup_pepper and lookup_hash, and the invites' invite
 * and onbind; its checkpoint row's key. The directory waits on it for read-your-writes, and the
 * invite service before it reads a new binding's pending invites.
 */
export const ASSOCIATIONS_PROJECTION = 'associations';

/**
 * The Postgres channel a projection notifies, inside the transaction of each batch (so the
 * notification is delivered exactly when the batch commits), with `<projection> <last_seq>`.
 * Whoever waits for a stream sequence to be applied LISTENs on it and also reads the checkpoint
 * table (a notification can be missed while a connection is re-established).
 */
export const PROJECTED_CHANNEL = 'tessera_projected';

import type { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import type { Transaction } from 'kysely';
import type { Database } from '../schema.js';

/** One message of the stream as a projection sees it: decoded, with its stream sequence. */
export type ProjectedMessage = {
  seq: number;
  subject: string;
  /** When the stream stored it (the server's clock), in milliseconds since the epoch. */
  timestampMs: number;
  envelope: Envelope;
  eventTypes: string[];
};

/**
 * A read model built from one stream: `project` writes a batch's rows inside the transaction that
 * also moves the projection's checkpoint, so the rows and the position commit together or not at
 * all. It must be deterministic (the same messages give the same rows: a rebuild replays them) and
 * write only its own `tables`.
 */
export interface Projection<DB extends Database = Database, Prepared = undefined> {
  /** Its checkpoint row's key; also the `projection` label of its metrics. */
  name: string;
  /** What a rebuild empties before replaying the stream from its start. */
  tables: readonly string[];
  /**
   * Only messages announcing one of these event types reach `project`; the others move the
   * checkpoint without being decoded. Unset: every message.
   */
  eventTypes?: readonly string[];
  /**
   * Work for a batch that needs no transaction (fetching keys, opening sealed fields): the runner
   * calls it for the next batch while the current one's transaction runs, and hands the result to
   * `project`. It sees every decoded message of the batch, also redeliveries that `project` will
   * not get; a throw fails the batch like a throw of `project` (it is prepared again, then tried).
   */
  prepare?(batch: readonly ProjectedMessage[]): Promise<Prepared>;
  /**
   * Applies a batch, in stream order; a throw rolls the whole batch back (and it is tried again).
   * `prepared` is what `prepare` gave for a batch holding these messages (undefined without `prepare`).
   */
  project(batch: readonly ProjectedMessage[], trx: Transaction<DB>, prepared: Prepared): Promise<void>;
}

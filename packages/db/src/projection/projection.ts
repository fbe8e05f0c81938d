import type { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import type { Transaction } from 'kysely';
import type { Database } from '../schema.js';

/** One message of the stream as a projection sees it: decoded, with its stream sequence. */
export type ProjectedMessage = {
  seq: number;
  subject: string;
  envelope: Envelope;
  eventTypes: string[];
};

/**
 * A read model built from one stream: `project` writes a batch's rows inside the transaction that
 * also moves the projection's checkpoint, so the rows and the position commit together or not at
 * all. It must be deterministic (the same messages give the same rows: a rebuild replays them) and
 * write only its own `tables`.
 */
export interface Projection<DB extends Database = Database> {
  /** Its checkpoint row's key; also the `projection` label of its metrics. */
  name: string;
  /** What a rebuild empties before replaying the stream from its start. */
  tables: readonly string[];
  /**
   * Only messages announcing one of these event types reach `project`; the others move the
   * checkpoint without being decoded. Unset: every message.
   */
  eventTypes?: readonly string[];
  /** Applies a batch, in stream order; a throw rolls the whole batch back (and it is tried again). */
  project(batch: readonly ProjectedMessage[], trx: Transaction<DB>): Promise<void>;
}

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

export interface Database {
  projector_checkpoint: ProjectorCheckpointTable;
}

export { asDatabaseError, DatabaseUnavailable } from './errors.js';
export { MigrationFailed, type MigrationOutcome, migrateToLatest } from './migrate.js';
export { MIGRATIONS } from './migrations/index.js';
export { openDatabase } from './open-database.js';
export { ASSOCIATIONS_PROJECTION, PROJECTED_CHANNEL } from './projected.js';
export { type HeldLock, type LockWait, tryLock, waitForLock } from './projection/active-lock.js';
export { applyBatch, type BatchOutcome, type Position } from './projection/apply-batch.js';
export { CheckpointStreamMismatch, ensureCheckpoint, resetProjection } from './projection/checkpoint.js';
export type { ProjectedMessage, Projection } from './projection/projection.js';
export { type ProjectionRunnerOptions, type RunningProjection, runProjection } from './projection/runner.js';
export {
  type ProjectionWait,
  type ProjectionWaitOptions,
  untilAppliedWhileAdvancing,
  watchProjection,
} from './projection-wait.js';
export { type DatabaseReadiness, type DatabaseReadinessOptions, watchDatabase } from './readiness.js';
export type {
  AssociationTable,
  Database,
  ImportedEphemeralKeyTable,
  Int8,
  InviteStatus,
  InviteTable,
  LookupHashTable,
  LookupPepperTable,
  OnbindTable,
  ProjectorCheckpointTable,
} from './schema.js';
export { type DatabaseSettings, databaseSettingsOf } from './settings.js';
export { type TablesReadiness, watchTables } from './tables-readiness.js';

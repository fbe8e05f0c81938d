import type { Migration } from 'kysely/migration';
import * as projectorCheckpoint from './2026_12_03_0001_projector_checkpoint.js';
import * as associations from './2026_12_03_0002_associations.js';
import * as invites from './2026_12_03_0003_invites.js';
import * as importedEphemeralKeys from './2026_12_04_0001_imported_ephemeral_keys.js';

/**
 * Every migration, old and new, by name: `<date>_<number>_<what>`, run in the order of the names.
 * Listed in code (not read from a folder) so that they run from dist/ wherever it is installed.
 * Never edit or remove one that has shipped: add the next.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026_12_03_0001_projector_checkpoint': projectorCheckpoint,
  '2026_12_03_0002_associations': associations,
  '2026_12_03_0003_invites': invites,
  '2026_12_04_0001_imported_ephemeral_keys': importedEphemeralKeys,
};

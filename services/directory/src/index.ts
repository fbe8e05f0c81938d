// What `tessera directory …` (deploy/cli) uses; the service itself starts from main.ts.
export { ADMIN_PATHS } from './admin/admin-paths.js';
export type { ImportFailure, ImportSummary } from './admin/import.js';

// What `tessera invite …` (deploy/cli) uses; the service itself starts from main.ts.
export { ADMIN_PATHS } from './admin/admin-paths.js';

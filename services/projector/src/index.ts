// What `tessera projector rebuild` (deploy/cli) uses; the service itself starts from main.ts.
export { type RebuildOutcome, rebuildAssociations } from './rebuild.js';

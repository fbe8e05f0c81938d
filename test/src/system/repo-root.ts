import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '@tessera/local-infra';

function repoRoot(): string {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  if (root === null)
    throw new Error('the end-to-end tests run inside a Tessera checkout (no pnpm-workspace.yaml above them)');
  return root;
}

/** The checkout under test, found upward from this module: the same from the test build as from the sources. */
export const REPO_ROOT = repoRoot();

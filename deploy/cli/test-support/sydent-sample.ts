import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Sydent sample in the repository (test/fixtures/sydent-sample), from this package's compiled tests. */
export const SAMPLE_DIR = fileURLToPath(new URL('../../../../test/fixtures/sydent-sample/', import.meta.url));
export const SAMPLE_DB = join(SAMPLE_DIR, 'sydent.db');

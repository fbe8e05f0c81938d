import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMPORT_PATHS } from './imports.js';

describe('import paths', () => {
  it('are distinct and each lies under its own service admin prefix', () => {
    const all = Object.entries(IMPORT_PATHS).flatMap(([service, paths]) =>
      Object.values(paths).map((path) => ({ service, path })),
    );
    assert.equal(new Set(all.map(({ path }) => path)).size, all.length);
    for (const { service, path } of all) assert.ok(path.startsWith(`/_tessera/${service}/v1/import/`), path);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@tessera/config';
import { loadTemplatesFromConfig } from './load-templates.js';

// What makes a template unusable is createTemplates' part (create-templates.test.ts); a service
// refusing to start on one, with exit 78, is in the notifier's and the gateway's main tests.
describe('loadTemplatesFromConfig', () => {
  it('loads the shipped templates with the default settings', () => {
    assert.deepEqual(loadTemplatesFromConfig(loadConfig({})).brands(), ['tessera']);
  });

  it('turns templates that cannot be used into a ConfigError naming the settings and the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-load-templates-'));
    try {
      assert.throws(
        () => loadTemplatesFromConfig(loadConfig({ TESSERA_TEMPLATES_DIR: dir, TESSERA_DEFAULT_BRAND: 'acme' })),
        (err: Error) =>
          err instanceof ConfigError &&
          err.message.startsWith('TESSERA_TEMPLATES_DIR / TESSERA_DEFAULT_BRAND: ') &&
          err.message.includes(join(dir, 'acme', 'verification_template.eml.j2')),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

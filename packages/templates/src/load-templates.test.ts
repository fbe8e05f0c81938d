import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@tessera/config';
import { loadTemplatesFromConfig } from './load-templates.js';
import { SHIPPED_TEMPLATES_DIR } from './shipped-templates.js';

describe('loadTemplatesFromConfig', () => {
  it('loads the shipped templates with the default settings', () => {
    const templates = loadTemplatesFromConfig(loadConfig({}));
    assert.deepEqual(templates.brands(), ['tessera']);
  });

  it('turns a template that cannot be used into a ConfigError naming the settings and the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-load-templates-'));
    try {
      await symlink(join(SHIPPED_TEMPLATES_DIR, 'tessera'), join(dir, 'tessera'));
      await mkdir(join(dir, 'typo'));
      await writeFile(join(dir, 'typo', 'verification_template.eml.j2'), 'Subject: {% if %}\n\nbody\n');
      assert.throws(
        () => loadTemplatesFromConfig(loadConfig({ TESSERA_TEMPLATES_DIR: dir })),
        (err: Error) =>
          err instanceof ConfigError &&
          err.message.startsWith('TESSERA_TEMPLATES_DIR / TESSERA_DEFAULT_BRAND: ') &&
          err.message.includes(join(dir, 'typo', 'verification_template.eml.j2')),
      );
      await rm(join(dir, 'typo'), { recursive: true });
      assert.throws(
        () => loadTemplatesFromConfig(loadConfig({ TESSERA_TEMPLATES_DIR: dir, TESSERA_DEFAULT_BRAND: 'other' })),
        (err: Error) =>
          err instanceof ConfigError && err.message.includes(join(dir, 'other', 'verification_template.eml.j2')),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

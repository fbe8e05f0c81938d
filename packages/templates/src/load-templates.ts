import { type Config, ConfigError } from '@tessera/config';
import type { TemplateKind } from './brand-folders.js';
import { createTemplates, type Templates } from './create-templates.js';
import { TemplatesUnusable } from './errors.js';

/**
 * The templates of TESSERA_TEMPLATES_DIR (the shipped ones by default) with TESSERA_DEFAULT_BRAND,
 * for every service that renders them. A directory without the default brand's templates, or
 * with a template that does not compile or render, is a configuration error (the service exits
 * with 78), naming the settings and the file. `require`: templates the default brand must have
 * besides the validation mail and page (the notifier's invite mail).
 */
export function loadTemplatesFromConfig(
  config: Pick<Config, 'TESSERA_TEMPLATES_DIR' | 'TESSERA_DEFAULT_BRAND'>,
  { require = [] }: { require?: readonly TemplateKind[] } = {},
): Templates {
  try {
    const { TESSERA_TEMPLATES_DIR: dir, TESSERA_DEFAULT_BRAND: defaultBrand } = config;
    return createTemplates({ dir, defaultBrand, require });
  } catch (err) {
    if (!(err instanceof TemplatesUnusable)) throw err;
    throw new ConfigError(`TESSERA_TEMPLATES_DIR / TESSERA_DEFAULT_BRAND: ${err.message}`, { cause: err });
  }
}

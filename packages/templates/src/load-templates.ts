import { type Config, ConfigError } from '@tessera/config';
import { createTemplates, type Templates } from './create-templates.js';
import { TemplatesUnusable } from './errors.js';

/**
 * The templates of TESSERA_TEMPLATES_DIR (the shipped ones by default) with TESSERA_DEFAULT_BRAND,
 * for every service that renders them. A directory without the default brand's templates, or
 * with a template that does not compile or render, is a configuration error (the service exits
 * with 78), naming the settings and the file.
 */
export function loadTemplatesFromConfig(
  config: Pick<Config, 'TESSERA_TEMPLATES_DIR' | 'TESSERA_DEFAULT_BRAND'>,
): Templates {
  try {
    return createTemplates({ dir: config.TESSERA_TEMPLATES_DIR, defaultBrand: config.TESSERA_DEFAULT_BRAND });
  } catch (err) {
    if (!(err instanceof TemplatesUnusable)) throw err;
    throw new ConfigError(`TESSERA_TEMPLATES_DIR / TESSERA_DEFAULT_BRAND: ${err.message}`, { cause: err });
  }
}

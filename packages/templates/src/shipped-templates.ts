import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's folder: the nearest one above this module with a package.json (from dist/ or the test build alike). */
function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The templates shipped with Tessera (brand `tessera`): `templates/` in this package's folder. */
export const SHIPPED_TEMPLATES_DIR = join(packageDir(), 'templates/');

/** The brand of the shipped templates, and TESSERA_DEFAULT_BRAND's default. */
export const SHIPPED_BRAND = 'tessera';

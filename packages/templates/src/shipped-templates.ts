import { fileURLToPath } from 'node:url';

/** The templates shipped with Tessera (brand `tessera`): `templates/` beside this package's `dist/`. */
export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url));

/** The brand of the shipped templates, and TESSERA_DEFAULT_BRAND's default. */
export const SHIPPED_BRAND = 'tessera';

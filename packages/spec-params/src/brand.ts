// A brand is a folder name under TESSERA_TEMPLATES_DIR (as TESSERA_DEFAULT_BRAND); nothing else
// ever reaches a path.
const BRAND = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The template brand from the `brand` query parameter, or undefined for the default brand. A value
 * that could not be a brand folder is ignored rather than refused, as Sydent falls back to its
 * default brand for any brand it does not know.
 */
export function brandOf(value: unknown): string | undefined {
  return typeof value === 'string' && BRAND.test(value) ? value : undefined;
}

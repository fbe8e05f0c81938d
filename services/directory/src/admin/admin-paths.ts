/** The paths of the admin API (the CLI's `tessera directory …` calls them). */
export const ADMIN_PATHS = {
  bind: '/_tessera/directory/v1/bind',
  unbind: '/_tessera/directory/v1/unbind',
  import: '/_tessera/directory/v1/import',
  rotatePepper: '/_tessera/directory/v1/pepper/rotate',
} as const;

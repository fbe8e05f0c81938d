/** The paths of the invite service's admin API (the CLI's `tessera invite …` calls them). */
export const ADMIN_PATHS = {
  revoke: '/_tessera/invite/v1/revoke',
} as const;

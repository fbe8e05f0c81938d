import { type Config, ConfigError } from '@tessera/config';

/** How a process reaches PostgreSQL: checked settings, nothing opened yet. */
export type DatabaseSettings = { url: string; poolSize: number };

/**
 * TESSERA_DATABASE_URL and TESSERA_DATABASE_POOL_SIZE, checked before anything opens: a missing
 * URL stops the start with a ConfigError naming the key (`why` completes "required …").
 */
export function databaseSettingsOf(config: Config, why = 'here'): DatabaseSettings {
  const url = config.TESSERA_DATABASE_URL;
  if (url === undefined) throw new ConfigError(`TESSERA_DATABASE_URL: required ${why}`);
  return { url, poolSize: config.TESSERA_DATABASE_POOL_SIZE };
}

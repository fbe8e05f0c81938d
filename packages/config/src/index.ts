export { ConfigError, loadConfig, readSources } from './load-config.js';
export { type Config, type ConfigKey, ConfigSchema } from './schema.js';

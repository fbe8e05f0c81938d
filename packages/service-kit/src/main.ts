import { type Config, ConfigError, loadConfig } from '@tessera/config';
import { createLogger, type Logger } from './logger.js';

export const EXIT_CONFIG = 78; // EX_CONFIG from sysexits.h: the runner does not restart on it

export interface ServiceStart {
  config: Config;
  log: Logger;
}

/**
 * The body of every service's main.ts: reads the configuration (a bad value stops the process
 * with the key's name), makes the logger, runs `start`, and turns a failed start into a logged
 * exit instead of an unhandled rejection.
 */
export function runService(service: string, start: (ctx: ServiceStart) => Promise<void>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tessera-${service}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger(service, config.TESSERA_LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  start({ config, log }).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      log.fatal({ problem: err.message }, 'invalid configuration');
      // Also where a configuration error from loadConfig goes: operators look at one place for both.
      process.stderr.write(`tessera-${service}: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}

import { type Config, ConfigError, loadConfig } from '@tessera/config';
import type { ServiceName } from './addresses.js';
import { createLogger } from './logger.js';
import { type DatabaseNeed, type NatsNeed, type ServiceSpec, startService } from './service.js';
import { onShutdown, ShutdownPlan } from './shutdown.js';
import { startServiceTracing } from './tracing.js';

export const EXIT_CONFIG = 78; // EX_CONFIG from sysexits.h: the runner does not restart on it

/**
 * The body of every service's main.ts: reads the configuration (a bad value stops the process
 * with the key's name, exit 78), makes the logger, installs the signal handlers, starts the
 * service (startService), and turns a failed start into a logged exit instead of an unhandled
 * rejection.
 */
export function runService<
  Settings = undefined,
  N extends NatsNeed | undefined = undefined,
  D extends DatabaseNeed | undefined = undefined,
>(name: ServiceName, spec: ServiceSpec<Settings, N, D>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tessera-${name}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger(name, config.TESSERA_LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  const shutdown = new ShutdownPlan();
  // In place before anything opens, so before the service says it listens: a SIGTERM sent on
  // seeing that line must find them (until a process asks for a signal, the kernel's default
  // kills it, even in the instant between writing a line and the next statement).
  onShutdown(log, shutdown);
  startServiceTracing(name, config, log, shutdown);
  startService(name, spec, { config, log, shutdown }).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      log.fatal({ problem: err.message }, 'invalid configuration');
      // Also where a configuration error from loadConfig goes: operators look at one place for both.
      process.stderr.write(`tessera-${name}: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}

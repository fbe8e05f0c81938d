import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

/**
 * On SIGTERM or SIGINT: run the steps in order (stop accepting, drain, close connections), then
 * exit 0. A step that fails is logged and the rest still run; past `timeoutMs` the process exits 1.
 * A second signal exits at once.
 */
export function onShutdown(log: Logger, steps: ShutdownStep[], timeoutMs = 15_000): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

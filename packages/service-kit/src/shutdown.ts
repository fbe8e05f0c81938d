import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

/**
 * When a step runs on shutdown: what takes work in stops first (a gRPC or HTTP server, a
 * consumer), then what the service opened for that work, then its backends (NATS drains what is
 * in flight), and the admin port last, so that /readyz and /metrics answer until the end.
 */
export type ShutdownPhase = 'serving' | 'resource' | 'backend' | 'admin';
const PHASES: readonly ShutdownPhase[] = ['serving', 'resource', 'backend', 'admin'];

/**
 * A process's shutdown steps, registered as it opens things. Within a phase, the step registered
 * last runs first: something opened later may use what was opened before it.
 */
export class ShutdownPlan {
  readonly #steps = new Map<ShutdownPhase, ShutdownStep[]>(PHASES.map((phase) => [phase, []]));

  add(phase: ShutdownPhase, step: ShutdownStep): void {
    this.#steps.get(phase)?.unshift(step);
  }

  /** The steps in the order they run. */
  steps(): ShutdownStep[] {
    return PHASES.flatMap((phase) => this.#steps.get(phase) ?? []);
  }
}

/** Runs every step in order; a step that fails is logged and the rest still run. */
export async function runShutdownSteps(log: Logger, steps: readonly ShutdownStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      log.error({ err, step: step.name }, 'shutdown step failed');
    }
  }
}

/**
 * On SIGTERM or SIGINT: run the plan's steps (those registered by then: a signal during the start
 * closes what is open so far), then exit 0; past `timeoutMs` the process exits 1. A second signal
 * exits at once.
 */
export function onShutdown(log: Logger, plan: ShutdownPlan, timeoutMs = 15_000): void {
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
    await runShutdownSteps(log, plan.steps());
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

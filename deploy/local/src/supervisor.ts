import { type ChildProcess, spawn } from 'node:child_process';
import { type BackoffPolicy, DEFAULT_BACKOFF, RestartBackoff } from './backoff.js';
import { followLines, type LineSink } from './log-prefix.js';

/** EX_CONFIG from sysexits.h: the child refuses its configuration; restarting it cannot help. */
export const EXIT_CONFIG = 78;

export interface ChildSpec {
  name: string;
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd?: string;
}

export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

export type SupervisorEvent =
  | { type: 'spawned'; name: string; pid: number; restart: number }
  | { type: 'spawn-failed'; name: string; error: Error }
  | { type: 'exited'; name: string; pid: number | null; exit: ChildExit; uptimeMs: number; expected: boolean }
  | {
      type: 'restart-scheduled';
      name: string;
      pid: number | null;
      exit: ChildExit;
      uptimeMs: number;
      delayMs: number;
      restart: number;
    }
  | { type: 'failed'; name: string; reason: string }
  | { type: 'kill-escalated'; name: string; pid: number; graceMs: number };

export interface SupervisorOptions {
  backoff?: BackoffPolicy;
  /** How long stop() waits after SIGTERM before it sends SIGKILL. */
  stopGraceMs?: number;
  /** Receives each line the child writes to stdout or stderr. */
  output: LineSink;
  /** Everything that happens to the child, for logs and the state file. */
  onEvent?: (event: SupervisorEvent) => void;
  /**
   * Own process group (default): a Ctrl-C in the terminal reaches only the runner, which then
   * stops the children in order; signals go to the whole group, so grandchildren go too.
   */
  detached?: boolean;
}

export type SupervisorStatus = 'idle' | 'running' | 'waiting' | 'failed' | 'stopping' | 'stopped';

/**
 * Runs one child process and restarts it when it exits, after a delay that doubles with each
 * crash in a row. A child that exits with 78 (bad configuration) is not restarted: the
 * supervisor reports `failed`. stop() ends the child (SIGTERM, then SIGKILL) and all restarts.
 */
export class ChildSupervisor {
  readonly name: string;
  #child: ChildProcess | null = null;
  #status: SupervisorStatus = 'idle';
  #restarts = 0;
  #startedAt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #exited: Promise<ChildExit> = Promise.resolve({ code: null, signal: null });
  readonly #backoff: RestartBackoff;
  readonly #options: SupervisorOptions & { stopGraceMs: number; detached: boolean };
  #failure: string | null = null;
  #stopping: Promise<void> | null = null;
  #failureListeners: Array<(reason: string) => void> = [];

  constructor(
    private readonly spec: ChildSpec,
    options: SupervisorOptions,
  ) {
    this.name = spec.name;
    this.#options = { stopGraceMs: 10_000, detached: true, ...options };
    this.#backoff = new RestartBackoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** How many times the child was started again after exiting. */
  get restarts(): number {
    return this.#restarts;
  }

  get status(): SupervisorStatus {
    return this.#status;
  }

  /** Why the child will not be restarted (exit 78), or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** Calls `listener` once if the child fails for good (at once if it already has). */
  onFailure(listener: (reason: string) => void): void {
    if (this.#failure !== null) listener(this.#failure);
    else this.#failureListeners.push(listener);
  }

  start(): void {
    if (this.#status !== 'idle') throw new Error(`${this.name} was already started`);
    this.#spawn();
  }

  /** SIGTERM to the child, SIGKILL after the grace period; no restart afterwards. Resolves once it is gone. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#status === 'running';
    this.#status = 'stopping';
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (wasRunning && child !== null && isAlive(child)) {
      const exited = this.#exited;
      this.#signal(child, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.#options.stopGraceMs);
      });
      const first = await Promise.race([exited, graceOver]);
      clearTimeout(timer);
      if (first === 'timeout' && child.pid !== undefined) {
        this.#emit({ type: 'kill-escalated', name: this.name, pid: child.pid, graceMs: this.#options.stopGraceMs });
        this.#signal(child, 'SIGKILL');
        await exited;
      }
    }
    this.#status = 'stopped';
  }

  /** Sends `signal` right away, without stopping supervision (SIGKILL: a crash, which gets restarted). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const child = this.#child;
    return child !== null && isAlive(child) && this.#signal(child, signal);
  }

  #spawn(): void {
    const { spec } = this;
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: { ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.#options.detached,
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.#status = 'running';
    followLines(child.stdout, this.#options.output);
    followLines(child.stderr, this.#options.output);
    this.#exited = new Promise((resolve) => {
      let settled = false;
      const done = (exit: ChildExit) => {
        if (settled) return;
        settled = true;
        resolve(exit);
        this.#onExit(child, exit);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (error) => {
        // Spawning failed (no such file, not executable): there is no process and no exit event.
        if (child.pid === undefined) {
          this.#emit({ type: 'spawn-failed', name: this.name, error });
          done({ code: null, signal: null });
        }
      });
    });
    if (child.pid !== undefined)
      this.#emit({ type: 'spawned', name: this.name, pid: child.pid, restart: this.#restarts });
  }

  #onExit(child: ChildProcess, exit: ChildExit): void {
    const uptimeMs = Date.now() - this.#startedAt;
    const expected = this.#status === 'stopping' || this.#status === 'stopped';
    this.#emit({ type: 'exited', name: this.name, pid: child.pid ?? null, exit, uptimeMs, expected });
    if (this.#child === child) this.#child = null;
    if (expected) return;
    if (exit.code === EXIT_CONFIG) {
      const reason = `${this.name} exited with code ${EXIT_CONFIG} (invalid configuration)`;
      this.#status = 'failed';
      this.#failure = reason;
      this.#emit({ type: 'failed', name: this.name, reason });
      for (const listener of this.#failureListeners.splice(0)) listener(reason);
      return;
    }
    const delayMs = this.#backoff.next(uptimeMs);
    this.#status = 'waiting';
    this.#emit({
      type: 'restart-scheduled',
      name: this.name,
      pid: child.pid ?? null,
      exit,
      uptimeMs,
      delayMs,
      restart: this.#restarts + 1,
    });
    this.#restartTimer = setTimeout(() => {
      if (this.#status !== 'waiting') return;
      this.#restarts += 1;
      this.#spawn();
    }, delayMs);
  }

  #signal(child: ChildProcess, signal: NodeJS.Signals): boolean {
    if (child.pid === undefined) return false;
    if (this.#options.detached) {
      try {
        process.kill(-child.pid, signal); // the child leads its own process group
        return true;
      } catch {
        // the group is gone already; fall through to the child itself
      }
    }
    return child.kill(signal);
  }

  #emit(event: SupervisorEvent): void {
    this.#options.onEvent?.(event);
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** "exited with code 1" / "was killed by SIGKILL" */
export function describeExit(exit: ChildExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  if (exit.code === null) return 'could not be started';
  return `exited with code ${exit.code}`;
}

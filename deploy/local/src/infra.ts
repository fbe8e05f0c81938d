import type { ChildProcess } from 'node:child_process';
import { type BackoffPolicy, DEFAULT_BACKOFF, RestartBackoff } from './backoff.js';
import type { LineSink } from './log-prefix.js';
import { type ChildExit, describeExit } from './supervisor.js';

/** What @tessera/local-infra's startNatsServer and startPostgres hand back, as far as the runner cares. */
export interface ServerHandle {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Keeps one of the runner's own servers (NATS, Postgres) up: if it exits while the runner is not
 * stopping, it is started again on the same port (clients reconnect to the same URL), after a
 * delay that grows with each crash in a row.
 */
export class KeptServer<H extends ServerHandle> {
  #handle: H | null = null;
  #launching: Promise<H> | null = null;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #startedAt = 0;
  readonly #backoff: RestartBackoff;

  constructor(
    readonly name: string,
    /** Starts the server; `port` is undefined the first time (the server picks one) and the old port afterwards. */
    private readonly launch: (port: number | undefined) => Promise<H>,
    private readonly o: { log: LineSink; onChange: () => void; backoff?: BackoffPolicy },
  ) {
    this.#backoff = new RestartBackoff(o.backoff ?? DEFAULT_BACKOFF);
  }

  get pid(): number | null {
    return this.#handle?.process.pid ?? null;
  }

  get handle(): H | null {
    return this.#handle;
  }

  get restarts(): number {
    return this.#restarts;
  }

  async start(): Promise<H> {
    const handle = await this.#launch(undefined);
    if (this.#stopping) {
      await handle.stop();
      throw new Error(`${this.name} was stopped while starting`);
    }
    return handle;
  }

  /**
   * No more restarts from now on: the runner is shutting down, and the server may exit on its own
   * (a Ctrl-C in the terminal reaches it directly) before stop() is called.
   */
  holdRestarts(): void {
    this.#stopping = true;
    clearTimeout(this.#timer);
  }

  /** Stops the server (and any restart to come); resolves once it is gone. */
  async stop(): Promise<void> {
    this.holdRestarts();
    const launching = this.#launching;
    if (launching) await launching.catch(() => {});
    const handle = this.#handle;
    if (handle && handle.process.exitCode === null && handle.process.signalCode === null) await handle.stop();
    this.o.onChange();
  }

  async #launch(port: number | undefined): Promise<H> {
    this.#launching = this.launch(port);
    try {
      const handle = await this.#launching;
      this.#handle = handle;
      this.#startedAt = Date.now();
      handle.process.once('exit', (code, signal) => this.#onExit(handle, { code, signal }));
      this.o.onChange();
      return handle;
    } finally {
      this.#launching = null;
    }
  }

  #onExit(handle: H, exit: ChildExit): void {
    this.o.onChange();
    if (this.#stopping) return;
    const what = `${this.name} (pid ${handle.process.pid}) ${describeExit(exit)}`;
    this.#scheduleRestart(handle.port, what, Date.now() - this.#startedAt);
  }

  #scheduleRestart(port: number, what: string, uptimeMs: number): void {
    const delayMs = this.#backoff.next(uptimeMs);
    this.o.log(`${what}; restarting it on port ${port} in ${delayMs} ms (restart ${this.#restarts + 1})`);
    this.#timer = setTimeout(() => {
      if (this.#stopping) return;
      this.#restarts += 1;
      const attemptAt = Date.now();
      this.#launch(port).then(
        async (restarted) => {
          if (this.#stopping) await restarted.stop();
          else this.o.log(`${this.name} is back on ${restarted.url} (pid ${restarted.process.pid})`);
        },
        (err: unknown) => {
          if (this.#stopping) return;
          const reason = (err as Error).message.split('\n')[0];
          this.#scheduleRestart(port, `${this.name} could not be restarted (${reason})`, Date.now() - attemptAt);
        },
      );
    }, delayMs);
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The runner's end of the reaper (see reaper.ts): tells it what to clean up if the runner dies. */
export class Reaper {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /**
   * Starts the reaper; once our end of its pipe closes without done(), it stops what it watches
   * (SIGKILL after `graceMs`) and marks `stateFile` as stopped.
   */
  static start(o: { graceMs?: number; stateFile?: string; stderr?: 'inherit' | 'ignore' } = {}): Reaper {
    const script = fileURLToPath(new URL('./reaper.js', import.meta.url));
    const args = [script, String(o.graceMs ?? 10_000), ...(o.stateFile ? [o.stateFile] : [])];
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['pipe', 'ignore', o.stderr ?? 'inherit'],
    });
    child.on('error', () => {}); // without a reaper the runner still works; it just cannot clean up after a SIGKILL
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return new Reaper(child);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** `group`: the process leads its own process group, and the signal goes to the whole group. */
  watch(pid: number | undefined, signal: NodeJS.Signals, group: boolean): void {
    if (pid !== undefined) this.#send(`watch ${pid} ${signal} ${group ? 'group' : 'single'}`);
  }

  forget(pid: number | null | undefined): void {
    if (pid !== undefined && pid !== null) this.#send(`forget ${pid}`);
  }

  /** Everything was stopped in order: the reaper exits without touching anything. */
  done(): void {
    this.#send('done');
    this.#child.stdin?.end();
  }

  /** Closes the pipe without done(), as the death of the runner would (for tests). */
  abandon(): void {
    this.#child.stdin?.destroy();
  }

  #send(line: string): void {
    const stdin = this.#child.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${line}\n`);
  }
}

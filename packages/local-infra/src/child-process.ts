import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export function describeExit({ code, signal }: Exit): string {
  return signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs; resolves when the child is gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  // No pid: spawning failed, there is no process to stop (and no 'exit' will come).
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const first = await Promise.race([done, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    child.kill('SIGKILL');
    await done;
  }
}

const running = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

/**
 * Makes sure `child` gets `signal` if this Node process exits without stopping it (a failed test,
 * a crash of the runner), so no server outlives the process that started it. Only synchronous
 * work is possible in an exit hook, so the signal is sent and not waited for.
 */
export function killOnExit(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const [proc, sig] of running) proc.kill(sig);
    });
  }
  running.set(child, signal);
  child.once('exit', () => running.delete(child));
}

let setpriv: string | null | undefined;

/**
 * The command line that runs `file` so that Linux sends it `signal` when the thread that spawned
 * it dies, however it dies (SIGKILL included, when no exit hook runs): `setpriv --pdeathsig`.
 * Unchanged where setpriv is missing. The pid stays the server's own, since setpriv execs it.
 */
export function withParentDeathSignal(
  file: string,
  args: readonly string[],
  signal: NodeJS.Signals,
): [string, string[]] {
  if (setpriv === undefined) {
    const dirs = (process.env.PATH ?? '').split(delimiter).concat('/usr/bin', '/bin');
    setpriv =
      process.platform === 'linux' ? (dirs.map((d) => join(d, 'setpriv')).find((p) => existsSync(p)) ?? null) : null;
  }
  return setpriv === null ? [file, [...args]] : [setpriv, ['--pdeathsig', signal, '--', file, ...args]];
}

import type { ChildProcess } from 'node:child_process';
import { describeExit, exited, stopChild } from './child-process.js';
import type { LogFn, OutputLines } from './output-lines.js';
import { pollUntil, StartupTimeout } from './wait.js';

/** The server could not bind a port that was free a moment earlier; picking another one helps. */
export class PortInUse extends Error {}

/**
 * Polls `probe` until the freshly spawned `child` is ready. If it exits first or takes longer than
 * `timeoutMs`, the child is killed and the error quotes its last output lines.
 */
export async function waitUntilReady(
  child: ChildProcess,
  o: { name: string; output: OutputLines; probe: () => Promise<boolean>; timeoutMs: number; intervalMs?: number },
): Promise<void> {
  let portInUse = false;
  const unsubscribe = o.output.onLine((line) => {
    if (/address already in use/i.test(line)) portInUse = true;
  });
  const failure = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`could not start ${o.name}: ${err.message}`, { cause: err })));
    void exited(child).then((exit) => {
      // Let readline deliver the last lines before quoting them.
      setImmediate(() => {
        const message = `${o.name} ${describeExit(exit)} during start-up; last output:\n${o.output.tail()}`;
        reject(portInUse ? new PortInUse(message) : new Error(message));
      });
    });
  });
  try {
    await pollUntil(o.probe, { timeoutMs: o.timeoutMs, intervalMs: o.intervalMs ?? 50, abort: failure });
  } catch (err) {
    await stopChild(child, 'SIGKILL', 1_000);
    if (err instanceof StartupTimeout) {
      throw new Error(`${o.name} was ${err.message}; last output:\n${o.output.tail()}`);
    }
    throw err;
  } finally {
    unsubscribe();
  }
}

const MAX_PORT_ATTEMPTS = 3;

/**
 * Runs `start`, and again (at most three times in all) when it fails with PortInUse and `retry`
 * is true, i.e. when we picked the port ourselves and another process took it before the server bound it.
 */
export async function retryOnPortClash<T>(retry: boolean, log: LogFn, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof PortInUse) || !retry || attempt >= MAX_PORT_ATTEMPTS) throw err;
      log('[local-infra] a port was taken before the server could bind it; picking another');
    }
  }
}

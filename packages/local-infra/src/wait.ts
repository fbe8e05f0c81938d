import { setTimeout as sleep } from 'node:timers/promises';

export class StartupTimeout extends Error {}

/**
 * Calls `probe` every `intervalMs` until it returns true. Stops early when `abort` settles first
 * (the process died): its rejection is passed on. Throws StartupTimeout after `timeoutMs`.
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  { timeoutMs, intervalMs = 50, abort }: { timeoutMs: number; intervalMs?: number; abort: Promise<never> },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted: unknown;
  let isAborted = false;
  abort.catch((err: unknown) => {
    aborted = err;
    isAborted = true;
  });
  for (;;) {
    if (isAborted) throw aborted;
    if (await probe().catch(() => false)) return;
    if (isAborted) throw aborted;
    if (Date.now() >= deadline) throw new StartupTimeout(`not ready after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** One fixed window of a limit: which window `nowMs` falls in, and how long until the next one. */
export interface FixedWindow {
  /** Windows since the epoch; every replica computes the same index for the same instant. */
  index: number;
  /** Milliseconds until this window ends and the count starts again (at least 1). */
  remainingMs: number;
}

export function fixedWindow(nowMs: number, windowMs: number): FixedWindow {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer`);
  const index = Math.floor(nowMs / windowMs);
  return { index, remainingMs: Math.max(1, (index + 1) * windowMs - nowMs) };
}

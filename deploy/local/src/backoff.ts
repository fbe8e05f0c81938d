export interface BackoffPolicy {
  /** Delay before the first restart. */
  initialMs: number;
  /** The delay doubles after each crash up to this. */
  maxMs: number;
  /** A child that stayed up this long is healthy again: its next crash restarts after initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, resetAfterMs: 30_000 };

/** Delay before restart number `restart` (1 = the first) of a crash series: initial, doubled each time, capped. */
export function backoffDelay(restart: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const doublings = Math.max(0, restart - 1);
  // 2 ** 1000 is Infinity, and Math.min handles it: no overflow to guard against.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** doublings);
}

/** The delays of one child's crash series. */
export class RestartBackoff {
  #crashes = 0;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {}

  /** The delay before restarting a child that crashed after running for `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.policy.resetAfterMs) this.#crashes = 0;
    this.#crashes += 1;
    return backoffDelay(this.#crashes, this.policy);
  }
}

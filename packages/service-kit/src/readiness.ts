/** One thing a process needs before it can serve: a backend, a connection, a consumer. */
export interface ReadinessCheck {
  /** Says which check fails in /readyz: `signing`, `nats`. */
  readonly name: string;
  /** Answered from what is known already (a cached probe), never by a request of its own. */
  isReady(): boolean;
  /** What it is doing, for /readyz to show (`active`, `standby`), when that says more than ready or not. */
  state?(): string;
}

export interface ReadinessReport {
  ready: boolean;
  /** The names of the checks that fail, in the order given. */
  failing: string[];
  /** The states of the checks that tell one, by name. */
  states?: Record<string, string>;
}

/** Ready when every check is; a process that has not started yet reports the check `starting`. */
export function readinessOf(checks: readonly ReadinessCheck[]): () => ReadinessReport {
  return () => {
    const failing = checks.filter((check) => !check.isReady()).map((check) => check.name);
    const told = checks.flatMap((check) => (check.state ? [[check.name, check.state()] as const] : []));
    return { ready: failing.length === 0, failing, ...(told.length > 0 && { states: Object.fromEntries(told) }) };
  };
}

/** What /readyz says before the checks exist. */
export const notStarted = (): ReadinessReport => ({ ready: false, failing: ['starting'] });

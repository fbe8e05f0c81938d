/** One thing a process needs before it can serve: a backend, a connection, a consumer. */
export interface ReadinessCheck {
  /** Says which check fails in /readyz: `signing`, `nats`. */
  readonly name: string;
  /** Answered from what is known already (a cached probe), never by a request of its own. */
  isReady(): boolean;
}

export interface ReadinessReport {
  ready: boolean;
  /** The names of the checks that fail, in the order given. */
  failing: string[];
}

/** Ready when every check is; a process that has not started yet reports the check `starting`. */
export function readinessOf(checks: readonly ReadinessCheck[]): () => ReadinessReport {
  return () => {
    const failing = checks.filter((check) => !check.isReady()).map((check) => check.name);
    return { ready: failing.length === 0, failing };
  };
}

/** What /readyz says before the checks exist. */
export const notStarted = (): ReadinessReport => ({ ready: false, failing: ['starting'] });

import type { Logger } from './logger.js';

export type ThrottledLevel = 'debug' | 'info' | 'warn';

export interface LogThrottleOptions {
  /** How long repeats of one kind are counted before their summary line. Default: 60 s. */
  windowMs?: number;
  /** Kinds tracked at once; occurrences of further kinds are only counted, in one line. Default: 100. */
  maxKinds?: number;
}

/**
 * One line for the first occurrence of a kind of event, then one summary line per window while it
 * keeps happening: for what outsiders can trigger at will (a refused caller, an unreachable
 * homeserver, a store that is down), where a line per request would let them fill the logs.
 */
export interface LogThrottle {
  /**
   * Logs `msg` with `fields` now if `kind` was not seen in the current window; otherwise counts it.
   * `kind` names the event and whatever sets it apart (a method, a server name): never a secret.
   */
  log(level: ThrottledLevel, kind: string, fields: Record<string, unknown>, msg: string): void;
  /** Writes the summaries of the window now and starts a new one (the timer calls this). */
  flush(): void;
  /** Writes what is pending and stops the timer. */
  close(): void;
}

interface Seen {
  level: ThrottledLevel;
  fields: Record<string, unknown>;
  msg: string;
  repeats: number;
}

export function createLogThrottle(
  log: Logger,
  { windowMs = 60_000, maxKinds = 100 }: LogThrottleOptions = {},
): LogThrottle {
  const seen = new Map<string, Seen>();
  let untracked = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    for (const [kind, entry] of seen) {
      if (entry.repeats === 0) {
        seen.delete(kind); // quiet for a whole window: its next occurrence is news again
        continue;
      }
      log[entry.level](
        { ...entry.fields, repeated: entry.repeats, windowSeconds: windowMs / 1000 },
        `${entry.msg} (${entry.repeats} more in the last ${windowMs / 1000} s)`,
      );
      entry.repeats = 0;
    }
    if (untracked > 0) {
      log.warn(
        { repeated: untracked, windowSeconds: windowMs / 1000 },
        `${untracked} more throttled log lines not written`,
      );
      untracked = 0;
    }
    if (seen.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    log(level, kind, fields, msg) {
      const entry = seen.get(kind);
      if (entry !== undefined) {
        entry.repeats++;
        return;
      }
      if (seen.size >= maxKinds) {
        untracked++;
        return;
      }
      seen.set(kind, { level, fields, msg, repeats: 0 });
      log[level](fields, msg);
      if (timer === undefined) {
        timer = setInterval(flush, windowMs);
        timer.unref(); // a summary never keeps a stopping process alive
      }
    },
    flush,
    close() {
      flush();
      seen.clear();
      clearInterval(timer);
      timer = undefined;
    },
  };
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

// wrk (the load generator the Sydent figures were taken with), driven from the benchmarks.
// Needs wrk on PATH (apt-get install -y wrk).
const run = promisify(execFile);

export type WrkResult = { requests: number; perSecond: number; p50: number; p99: number; failed: number };

export type WrkOptions = {
  seconds: number;
  connections: number;
  /** A Lua script (wrk -s) that makes the requests: bodies, headers, random keys. */
  script?: string;
};

/** One wrk run on `url`; its own summary, read from its `--latency` output (latencies in ms). */
export async function wrk(url: string, { seconds, connections, script }: WrkOptions): Promise<WrkResult> {
  const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const { stdout } = await run('wrk', args, { maxBuffer: 16 * 1024 * 1024 });
  const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? Number.NaN);
  const latencyMs = (percent: string) => {
    const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout);
    if (!match) return Number.NaN;
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  };
  return {
    requests: number(/(\d+) requests in/),
    perSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50: latencyMs('50'),
    p99: latencyMs('99'),
    failed: (number(/Non-2xx or 3xx responses: (\d+)/) || 0) + (number(/Socket errors:.*timeout (\d+)/) || 0),
  };
}

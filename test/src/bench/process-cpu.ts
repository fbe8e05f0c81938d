import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

// Linux only: CPU time (user + system) of a process tree, from /proc, so a benchmark can say where
// the CPU went per request. Clock ticks are 100 per second on every Linux this runs on.
const TICKS_PER_SECOND = 100;

type ProcStat = { pid: number; ppid: number; cpuSeconds: number };

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return { pid, ppid: Number(fields[1]), cpuSeconds: ticks / TICKS_PER_SECOND };
  } catch {
    return null; // gone meanwhile
  }
}

/** A short name for a process: the service's folder for our Node services, else the program. */
function nameOf(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script = args.find((arg) => arg.endsWith('main.js'));
    const service = script && /(?:services|deploy)\/([^/]+)\/dist\/main\.js$/.exec(script);
    if (service) return service[1] === 'local' ? 'runner' : (service[1] as string);
    return basename(args[0] ?? String(pid));
  } catch {
    return String(pid);
  }
}

/** `root` and every process below it, each with its name. */
function processTree(root: number): { stat: ProcStat; name: string }[] {
  const stats = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== null);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const tree: { stat: ProcStat; name: string }[] = [];
  const visit = (stat: ProcStat) => {
    const name = nameOf(stat.pid);
    // PostgreSQL names each backend by its connection: one entry for them all.
    tree.push({ stat, name: name.startsWith('postgres') ? 'postgres' : name });
    for (const child of children.get(stat.pid) ?? []) visit(child);
  };
  const top = stats.find((stat) => stat.pid === root);
  if (top) visit(top);
  return tree;
}

/** CPU seconds used so far by `root` and every process below it, summed by name. */
export function cpuByProcess(root: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { stat, name } of processTree(root)) totals.set(name, (totals.get(name) ?? 0) + stat.cpuSeconds);
  return totals;
}

/**
 * Resident memory (MB) of `root` and every process below it, by name. PostgreSQL's processes are
 * summed, so its shared buffers count once per process that touched them: an upper bound.
 */
export function rssByProcess(root: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { stat, name } of processTree(root)) {
    let kilobytes = 0;
    try {
      kilobytes = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${stat.pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      continue; // gone meanwhile
    }
    totals.set(name, (totals.get(name) ?? 0) + kilobytes / 1024);
  }
  return totals;
}

/** CPU milliseconds per request of each process between two samples, busiest first. */
export function cpuPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number) {
  return [...after]
    .map(([name, seconds]) => ({ name, ms: ((seconds - (before.get(name) ?? 0)) * 1000) / requests }))
    .filter(({ ms }) => ms >= 0.005)
    .sort((a, b) => b.ms - a.ms);
}

/** The machine's busy and idle CPU seconds so far, from the first line of /proc/stat. */
export function machineCpu(): { busy: number; idle: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const all = fields.slice(0, 8).reduce((sum, n) => sum + n, 0); // up to steal; guest is within user
  return { busy: (all - idle) / TICKS_PER_SECOND, idle: idle / TICKS_PER_SECOND };
}

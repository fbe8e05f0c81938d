/**
 * The reaper: a small process of its own (own session, so neither Ctrl-C nor a kill of the
 * runner's process group reaches it) that holds a pipe from the runner. The runner tells it
 * which processes it started:
 *
 *   watch <pid> <signal> group|single
 *   forget <pid>
 *   done
 *
 * When the pipe closes without `done` (the runner died, even by SIGKILL), the reaper sends each
 * watched process its signal, waits up to 10 s, SIGKILLs what is left, marks the runner's state
 * file (if given) as stopped and exits: no orphans, no stale pids.
 *
 *   node reaper.js <graceMs> [<state file>]
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive as isAlive } from './pids.js';

type Watched = { signal: NodeJS.Signals; group: boolean };

const GRACE_MS = Number(process.argv[2] ?? 10_000);
const STATE_FILE = process.argv[3];
const RUNNER_PID = process.ppid; // before the runner dies and this process is handed to init
const watched = new Map<number, Watched>();
let done = false;

// Whatever happens to the terminal, this process must outlive the runner long enough to clean up.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.on(signal, () => {});

createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
  .on('line', (line) => {
    const [command, pid, signal, mode] = line.trim().split(/\s+/);
    if (command === 'watch' && pid && signal)
      watched.set(Number(pid), { signal: signal as NodeJS.Signals, group: mode === 'group' });
    else if (command === 'forget' && pid) watched.delete(Number(pid));
    else if (command === 'done') done = true;
  })
  .on('close', () => {
    if (done || watched.size === 0) process.exit(0);
    void reap();
  });

async function reap(): Promise<void> {
  process.stderr.write(`reaper: the runner is gone; stopping ${[...watched.keys()].join(', ')}\n`);
  for (const [pid, how] of watched) send(pid, how, how.signal);
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && [...watched.keys()].some(isAlive)) await sleep(100);
  for (const [pid, how] of watched) if (isAlive(pid)) send(pid, how, 'SIGKILL');
  markStopped();
  process.exit(0);
}

/** The runner's state file as the runner itself would leave it on a clean stop: status stopped, no pids. */
function markStopped(): void {
  if (!STATE_FILE) return;
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
    if (state.pid !== RUNNER_PID) return; // another runner's by now
    state.pid = null;
    state.status = 'stopped';
    for (const server of [state.nats, state.postgres]) if (server) server.pid = null;
    for (const service of Object.values(state.services ?? {})) (service as { pid: number | null }).pid = null;
    const temporary = `${STATE_FILE}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 }); // as the runner writes it
    chmodSync(temporary, 0o600);
    renameSync(temporary, STATE_FILE);
  } catch {
    // no state file, or not one we understand: nothing to correct
  }
}

function send(pid: number, how: Watched, signal: NodeJS.Signals): void {
  try {
    process.kill(how.group ? -pid : pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../test-support/until.js';
import { isPidAlive as isAlive } from './pids.js';
import { Reaper } from './reaper-client.js';

/** A process that runs until killed; `up` resolves once its signal handlers are in place. */
function sleeper(o: { detached: boolean; ignoreTerm?: boolean }) {
  const script = `${o.ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} console.log('up'); setInterval(() => {}, 1000)`;
  const child = spawn(process.execPath, ['-e', script], { detached: o.detached, stdio: ['ignore', 'pipe', 'ignore'] });
  const { pid } = child;
  assert.ok(pid !== undefined);
  const up = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { child, pid, up };
}

describe('the reaper', () => {
  it('stops every watched process when the runner goes away without saying done, and marks the state stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-reaper-'));
    const stateFile = join(dir, 'state.json');
    const reaper = Reaper.start({ graceMs: 500, stderr: 'ignore', stateFile });
    const group = sleeper({ detached: true });
    const single = sleeper({ detached: false });
    const stubborn = sleeper({ detached: false, ignoreTerm: true });
    await Promise.all([group.up, single.up, stubborn.up]);
    reaper.watch(group.pid, 'SIGTERM', true);
    reaper.watch(single.pid, 'SIGINT', false);
    reaper.watch(stubborn.pid, 'SIGTERM', false);
    writeFileSync(
      stateFile,
      JSON.stringify({
        pid: process.pid, // the reaper's parent: the runner
        status: 'ready',
        nats: { pid: single.pid },
        postgres: null,
        services: { signing: { pid: group.pid, grpcPort: 1, metricsPort: 2, restarts: 0 } },
      }),
    );
    reaper.abandon();
    await until(() => group.child.exitCode !== null || group.child.signalCode !== null, 'the group leader');
    await until(() => single.child.signalCode !== null, 'the single process');
    await until(() => stubborn.child.signalCode !== null, 'the stubborn process');
    assert.equal(group.child.signalCode, 'SIGTERM');
    assert.equal(single.child.signalCode, 'SIGINT');
    assert.equal(stubborn.child.signalCode, 'SIGKILL');
    await until(() => JSON.parse(readFileSync(stateFile, 'utf8')).status === 'stopped', 'the state file');
    assert.deepEqual(JSON.parse(readFileSync(stateFile, 'utf8')), {
      pid: null,
      status: 'stopped',
      nats: { pid: null },
      postgres: null,
      services: { signing: { pid: null, grpcPort: 1, metricsPort: 2, restarts: 0 } },
    });
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves everything alone after done, and forgets what it was told to forget', async () => {
    const reaper = Reaper.start({ graceMs: 500, stderr: 'ignore' });
    const kept = sleeper({ detached: false });
    const forgotten = sleeper({ detached: false });
    reaper.watch(forgotten.pid, 'SIGTERM', false);
    reaper.forget(forgotten.pid);
    reaper.watch(kept.pid, 'SIGTERM', false);
    reaper.done();
    await sleep(500);
    assert.ok(isAlive(kept.pid));
    assert.ok(isAlive(forgotten.pid));
    kept.child.kill('SIGKILL');
    forgotten.child.kill('SIGKILL');
  });

  it('forgets a pid once told, so nothing reused later is touched', async () => {
    const reaper = Reaper.start({ graceMs: 500, stderr: 'ignore' });
    const forgotten = sleeper({ detached: false });
    reaper.watch(forgotten.pid, 'SIGTERM', false);
    reaper.forget(forgotten.pid);
    reaper.abandon();
    await sleep(500);
    assert.ok(isAlive(forgotten.pid));
    forgotten.child.kill('SIGKILL');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../test-support/until.js';
import { isPidAlive as isAlive } from './pids.js';
import { ChildSupervisor, type SupervisorEvent } from './supervisor.js';

const FAST = { initialMs: 40, maxMs: 1_000, resetAfterMs: 30_000 };

/** A supervisor of `node -e script`, recording its events and output lines. */
function supervise(name: string, script: string, o: { env?: Record<string, string>; stopGraceMs?: number } = {}) {
  const events: SupervisorEvent[] = [];
  const lines: string[] = [];
  const supervisor = new ChildSupervisor(
    { name, command: process.execPath, args: ['-e', script], env: { PATH: process.env.PATH ?? '', ...o.env } },
    {
      backoff: FAST,
      stopGraceMs: o.stopGraceMs ?? 5_000,
      output: (line) => lines.push(line),
      onEvent: (event) => events.push(event),
    },
  );
  return { supervisor, events, lines };
}

describe('the child supervisor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-supervisor-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('restarts a child that crashes twice with growing delays, and leaves it running once it stays up', async () => {
    const counter = join(dir, 'starts');
    // Counts its starts in a file; the first two crash, the third stays up.
    const script = `
      const fs = require('node:fs');
      const starts = (fs.existsSync(process.env.COUNTER) ? Number(fs.readFileSync(process.env.COUNTER, 'utf8')) : 0) + 1;
      fs.writeFileSync(process.env.COUNTER, String(starts));
      console.log('start ' + starts);
      if (starts <= 2) process.exit(3);
      setInterval(() => {}, 1000);`;
    const { supervisor, events, lines } = supervise('crasher', script, { env: { COUNTER: counter } });
    supervisor.start();
    await until(() => lines.includes('start 3'), 'the third start');
    await sleep(100);

    const scheduled = events.filter((event) => event.type === 'restart-scheduled');
    assert.deepEqual(
      scheduled.map((event) => [event.delayMs, event.restart, event.exit.code]),
      [
        [40, 1, 3],
        [80, 2, 3],
      ],
    );
    assert.equal(supervisor.restarts, 2);
    assert.equal(supervisor.status, 'running');
    assert.equal(events.filter((event) => event.type === 'spawned').length, 3);
    assert.equal(readFileSync(counter, 'utf8'), '3');
    const pid = supervisor.pid;
    assert.ok(pid !== null && isAlive(pid));

    await supervisor.stop();
    assert.equal(supervisor.status, 'stopped');
    assert.ok(!isAlive(pid));
    assert.equal(events.at(-1)?.type, 'exited');
    assert.equal(events.filter((event) => event.type === 'restart-scheduled').length, 2, 'no restart after stop()');
  });

  it('restarts a child killed by SIGKILL with the same environment', async () => {
    const { supervisor, events, lines } = supervise(
      'victim',
      'console.log("port " + process.env.PORT); setInterval(() => {}, 1000)',
      {
        env: { PORT: '4711' },
      },
    );
    supervisor.start();
    await until(() => lines.length === 1, 'the first start');
    const firstPid = supervisor.pid;
    assert.ok(supervisor.kill('SIGKILL'));
    await until(() => lines.length === 2, 'the restart');
    assert.deepEqual(lines, ['port 4711', 'port 4711']);
    assert.notEqual(supervisor.pid, firstPid);
    const scheduled = events.find((event) => event.type === 'restart-scheduled');
    assert.equal(scheduled?.type === 'restart-scheduled' && scheduled.exit.signal, 'SIGKILL');
    await supervisor.stop();
  });

  it('does not restart a child that exits with 78 (bad configuration), and reports it', async () => {
    const { supervisor, events } = supervise('misconfigured', 'console.error("TESSERA_X: bad"); process.exit(78)');
    const failure = new Promise<string>((resolve) => supervisor.onFailure(resolve));
    supervisor.start();
    assert.match(await failure, /misconfigured exited with code 78 \(invalid configuration\)/);
    await sleep(150); // longer than the first backoff delay
    assert.equal(supervisor.status, 'failed');
    assert.equal(supervisor.restarts, 0);
    assert.deepEqual(
      events.map((event) => event.type),
      ['spawned', 'exited', 'failed'],
    );
    await supervisor.stop();
    assert.equal(supervisor.status, 'stopped');
  });

  it('stops a child with SIGTERM and does not wait for the grace period when it obeys', async () => {
    const { supervisor, events, lines } = supervise('polite', 'console.log("up"); setInterval(() => {}, 1000)');
    supervisor.start();
    await until(() => lines.includes('up'), 'the child');
    const started = Date.now();
    await supervisor.stop();
    assert.ok(Date.now() - started < 2_000);
    const exited = events.find((event) => event.type === 'exited');
    assert.ok(exited?.type === 'exited');
    assert.equal(exited.exit.signal, 'SIGTERM');
    assert.equal(exited.expected, true);
    assert.ok(!events.some((event) => event.type === 'kill-escalated'));
  });

  it('sends SIGKILL to a child that ignores SIGTERM once the grace period is over', async () => {
    const script = `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)`;
    const { supervisor, events, lines } = supervise('stubborn', script, { stopGraceMs: 300 });
    supervisor.start();
    await until(() => lines.includes('up'), 'the child');
    const pid = supervisor.pid;
    assert.ok(pid !== null);
    const started = Date.now();
    await supervisor.stop();
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 3_000, `stop took ${took} ms`);
    assert.ok(lines.includes('ignoring SIGTERM'));
    assert.ok(events.some((event) => event.type === 'kill-escalated'));
    const exited = events.find((event) => event.type === 'exited');
    assert.ok(exited?.type === 'exited');
    assert.equal(exited.exit.signal, 'SIGKILL');
    assert.ok(!isAlive(pid));
  });

  it('cancels a pending restart when stopped between crashes', async () => {
    const { supervisor, events } = supervise('flapping', 'process.exit(1)');
    supervisor.start();
    await until(() => events.some((event) => event.type === 'restart-scheduled'), 'the first crash');
    await supervisor.stop();
    await sleep(150);
    assert.equal(events.filter((event) => event.type === 'spawned').length, 1);
    assert.equal(supervisor.status, 'stopped');
  });

  it('retries a command that cannot be spawned at all, with backoff', async () => {
    const events: SupervisorEvent[] = [];
    const supervisor = new ChildSupervisor(
      { name: 'missing', command: join(dir, 'no-such-binary'), args: [], env: {} },
      { backoff: FAST, output: () => {}, onEvent: (event) => events.push(event) },
    );
    supervisor.start();
    await until(() => events.filter((event) => event.type === 'spawn-failed').length >= 2, 'two attempts');
    await supervisor.stop();
    assert.ok(events.some((event) => event.type === 'restart-scheduled'));
  });
});

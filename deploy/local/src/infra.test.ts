import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../test-support/until.js';
import { KeptServer, type ServerHandle } from './infra.js';

/** A stand-in for nats-server: a TCP listener on `port` (0: any), up once it prints its port. */
async function launchListener(port: number | undefined): Promise<ServerHandle> {
  const script = `const s = require('node:net').createServer().listen(${port ?? 0}, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => {}, 1000)`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const bound = Number(chunk.toString().trim());
  return {
    url: `tcp://127.0.0.1:${bound}`,
    port: bound,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

const FAST = { initialMs: 30, maxMs: 300, resetAfterMs: 30_000 };

describe('the kept server (NATS, Postgres)', () => {
  it('starts it again on the same port after a crash, and not after stop()', async () => {
    const log: string[] = [];
    const kept = new KeptServer('nats', launchListener, {
      log: (line) => log.push(line),
      onChange: () => {},
      backoff: FAST,
    });
    const first = await kept.start();
    const firstPid = kept.pid;
    first.process.kill('SIGKILL');
    await until(() => kept.restarts === 1 && kept.pid !== null && kept.pid !== firstPid, 'the restart');
    await until(() => log.some((line) => line.startsWith('nats is back on')), 'the restart log');
    assert.equal(kept.handle?.port, first.port);
    assert.match(
      log[0] ?? '',
      /^nats \(pid \d+\) was killed by SIGKILL; restarting it on port \d+ in 30 ms \(restart 1\)$/,
    );

    const second = kept.handle;
    await kept.stop();
    assert.ok(second?.process.signalCode === 'SIGTERM');
    await sleep(100);
    assert.equal(kept.restarts, 1);
  });

  it('does not restart a server that exits on its own once the runner is shutting down', async () => {
    const kept = new KeptServer('postgres', launchListener, { log: () => {}, onChange: () => {}, backoff: FAST });
    const handle = await kept.start();
    kept.holdRestarts();
    handle.process.kill('SIGINT'); // a Ctrl-C in the terminal reaches it directly
    await once(handle.process, 'exit');
    await sleep(100);
    assert.equal(kept.restarts, 0);
    await kept.stop();
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNats, type TestNats } from './nats.js';

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function jsz(nats: TestNats): Promise<{ config: { store_dir: string; sync_always?: boolean } }> {
  const response = await fetch(`${nats.monitorUrl}/jsz`, { headers: { connection: 'close' } });
  return (await response.json()) as { config: { store_dir: string; sync_always?: boolean } };
}

describe('startNats', () => {
  let nats: TestNats;
  before(async () => {
    nats = await startNats();
  });
  after(() => nats.stop());

  it('runs nats-server with JetStream syncing every write, in its own temp dir', async () => {
    assert.equal(nats.url, `nats://127.0.0.1:${nats.port}`);
    assert.ok(await accepts(nats.port));
    const { config } = await jsz(nats);
    assert.equal(config.sync_always, true);
    assert.ok(config.store_dir.startsWith(nats.dataDir));
  });

  it('restart() after a crash brings the server back on the same port and data dir', async () => {
    const firstPid = nats.server.process.pid;
    nats.kill('SIGKILL');
    await nats.restart();
    assert.notEqual(nats.server.process.pid, firstPid);
    assert.equal(nats.server.port, nats.port);
    assert.ok(await accepts(nats.port));
    assert.ok((await jsz(nats)).config.store_dir.startsWith(nats.dataDir));
  });

  it('stop() ends the server and removes its temp dir, and may be called twice', async () => {
    await nats.stop();
    await nats.stop();
    assert.ok(nats.server.process.exitCode !== null || nats.server.process.signalCode !== null);
    assert.equal(existsSync(nats.dataDir), false);
    await assert.rejects(nats.restart(), /after stop/);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RawNatsConnection } from '../test-support/raw-nats.js';
import { type NatsServerHandle, startNatsServer } from './nats-server.js';
import { canConnect, httpGetJson } from './probes.js';

type Jsz = { config: { store_dir: string; sync_always?: boolean }; streams: number; messages: number };
const jsz = async (server: NatsServerHandle) => (await httpGetJson(`${server.monitorUrl}/jsz`)) as Jsz;
const quiet = () => {};

describe('startNatsServer', () => {
  let dataDir: string;
  let server: NatsServerHandle | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-nats-int-'));
  });
  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves clients with JetStream on, fsyncing every write, its store under dataDir', async () => {
    server = await startNatsServer({ dataDir, log: quiet });
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(await canConnect('127.0.0.1', server.port));
    const { config } = await jsz(server);
    assert.equal(config.sync_always, true);
    assert.equal(config.store_dir, server.storeDir);
    assert.ok(server.storeDir.startsWith(dataDir));
    assert.match(await readFile(server.configFile, 'utf8'), /^\s*sync_interval: always$/m);
  });

  it('keeps a stream and its messages across a restart on the same data dir', async () => {
    assert.ok(server);
    const nats = await RawNatsConnection.open(server.host, server.port);
    try {
      const created = JSON.parse(
        await nats.request('$JS.API.STREAM.CREATE.EVENTS', '{"name":"EVENTS","subjects":["ev.>"],"storage":"file"}'),
      ) as { error?: unknown };
      assert.equal(created.error, undefined);
      const ack = JSON.parse(await nats.request('ev.1', 'hello')) as { stream: string; seq: number };
      assert.deepEqual(ack, { stream: 'EVENTS', seq: 1 });
    } finally {
      nats.close();
    }
    const { port, monitorPort } = server;
    await server.stop();
    server = await startNatsServer({ dataDir, port, monitorPort, log: quiet });
    assert.equal(server.port, port);
    const after = await jsz(server);
    assert.equal(after.streams, 1);
    assert.equal(after.messages, 1);
  });

  it('stops on stop(): the process has exited and the port is closed', async () => {
    assert.ok(server);
    await server.stop();
    assert.ok(server.process.exitCode !== null || server.process.signalCode !== null);
    assert.equal(await canConnect('127.0.0.1', server.port), false);
  });

  it('rejects with the server output when nats-server cannot start', async () => {
    const brokenDir = await mkdtemp(join(tmpdir(), 'tessera-nats-broken-'));
    try {
      await assert.rejects(
        startNatsServer({ dataDir: brokenDir, log: quiet, extraConfig: 'no_such_option {{{' }),
        /nats-server at nats:\/\/127\.0\.0\.1:\d+ exited with code \d+ during start-up; last output:\n.+/,
      );
    } finally {
      await rm(brokenDir, { recursive: true, force: true });
    }
  });

  it('rejects with an error naming the binary when it cannot be run', async () => {
    const binary = join(dataDir, 'no-such-nats-server');
    await assert.rejects(startNatsServer({ dataDir, binary, log: quiet }), (err: Error) => {
      assert.ok(err.message.includes(binary), err.message);
      return true;
    });
  });
});

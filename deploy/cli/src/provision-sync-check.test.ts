import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNats, type TestNats } from '@tessera/test-harness';
import { connect } from 'nats';
import { tessera } from '../test-support/run-tessera.js';

/** The streams a server holds, read without credentials (these test servers have no authorization). */
async function streamsOf(nats: TestNats): Promise<string[]> {
  const nc = await connect({ servers: nats.url });
  try {
    const names: string[] = [];
    for await (const name of (await nc.jetstreamManager()).streams.names()) names.push(name);
    return names.sort();
  } finally {
    await nc.close();
  }
}

describe('tessera provision: the NATS servers must fsync every write', () => {
  let safe: TestNats;
  let lazy: TestNats;
  let lazyStore: string;
  let notNats: Server;
  before(async () => {
    safe = await startNats(); // sync_interval: always, as every Tessera NATS server must run
    lazyStore = await mkdtemp(join(tmpdir(), 'tessera-lazy-js-'));
    // A second jetstream block replaces the first: NATS's default, an fsync every two minutes.
    lazy = await startNats({ extraConfig: `jetstream { store_dir: ${JSON.stringify(lazyStore)} }` });
    notNats = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => notNats.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await safe?.stop();
    await lazy?.stop();
    notNats?.close();
    if (lazyStore) await rm(lazyStore, { recursive: true, force: true });
  });

  it('provisions when every server named reports sync_interval: always, and says so', async () => {
    const run = await tessera(['provision'], {
      TESSERA_NATS_URL: safe.url,
      TESSERA_NATS_MONITOR_URLS: safe.monitorUrl,
    });
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /every NATS server fsyncs each write \(sync_interval: always\)/);
    assert.match(run.out, /stream +TESSERA_EVENTS +created/);
  });

  it('refuses a cluster with one lazy server, names it, and creates nothing', async () => {
    const run = await tessera(['provision'], {
      TESSERA_NATS_URL: lazy.url,
      TESSERA_NATS_MONITOR_URLS: `${safe.monitorUrl}, ${lazy.monitorUrl}`,
    });
    assert.equal(run.code, 1);
    assert.match(
      run.err,
      new RegExp(`${lazy.monitorUrl} \\(nats-server 2\\.\\d+\\.\\d+\\) fsyncs JetStream every 120 s`),
    );
    assert.doesNotMatch(run.err, new RegExp(`${safe.monitorUrl} \\(`), 'the safe server is not blamed');
    assert.match(run.err, /--allow-lazy-fsync/);
    assert.deepEqual(await streamsOf(lazy), []);
  });

  it('with --allow-lazy-fsync, warns about the lazy server and provisions it', async () => {
    const env = { TESSERA_NATS_URL: lazy.url, TESSERA_NATS_MONITOR_URLS: lazy.monitorUrl };
    const run = await tessera(['provision', '--allow-lazy-fsync'], env);
    assert.equal(run.code, 0, run.err);
    assert.match(
      run.err,
      /^warning: acknowledged events would be lost on a machine crash: .*sync_interval is not "always"/,
    );
    assert.deepEqual(
      await streamsOf(lazy),
      ['TESSERA_EVENTS', 'TESSERA_SHORT', 'KV_tessera_data_keys', 'KV_tessera_rate_limits'].sort(),
    );
  });

  it('refuses when a monitoring endpoint cannot be read: an unchecked server is not taken as safe', async () => {
    const { port } = notNats.address() as AddressInfo;
    const run = await tessera(['provision'], {
      TESSERA_NATS_URL: safe.url,
      TESSERA_NATS_MONITOR_URLS: `http://127.0.0.1:${port}`,
    });
    assert.equal(run.code, 1);
    assert.match(run.err, new RegExp(`cannot read http://127\\.0\\.0\\.1:${port}/varz: HTTP 404`));
  });

  it('without monitoring endpoints, provisions and warns that nothing was checked', async () => {
    const run = await tessera(['provision'], { TESSERA_NATS_URL: safe.url });
    assert.equal(run.code, 0, run.err);
    assert.match(run.err, /warning: sync_interval not checked: TESSERA_NATS_MONITOR_URLS/);
  });

  it('names a monitoring URL that is not http(s), and an unknown argument', async () => {
    const bad = await tessera(['provision'], {
      TESSERA_NATS_URL: safe.url,
      TESSERA_NATS_MONITOR_URLS: 'nats://x:8222',
    });
    assert.equal(bad.code, 78);
    assert.match(bad.err, /TESSERA_NATS_MONITOR_URLS/);
    assert.equal((await tessera(['provision', '--yolo'], { TESSERA_NATS_URL: safe.url })).code, 64);
  });
});

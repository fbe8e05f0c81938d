// A real nats-server for this package's integration tests; not exported from the package.
import { startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { ensureBucket } from '../src/buckets.js';
import { connectNats } from '../src/connect.js';
import { DATA_KEY_BUCKET, DATA_KEY_BUCKET_OPTIONS } from '../src/kv-key-source.js';
import { ensureStreams } from '../src/streams.js';

export type NatsFixture = { nats: TestNats; nc: NatsConnection; close(): Promise<void> };

/** A fresh nats-server with both streams and the data-key bucket (as provisioning makes them), and a connection to it. */
export async function natsWithStreams(): Promise<NatsFixture> {
  const nats = await startNats();
  const nc = await connectNats({ url: nats.url, name: 'event-store-test' });
  const jsm = await nc.jetstreamManager();
  await ensureStreams(jsm);
  await ensureBucket(nc.jetstream(), jsm, DATA_KEY_BUCKET, DATA_KEY_BUCKET_OPTIONS);
  return {
    nats,
    nc,
    async close() {
      await nc.close();
      await nats.stop();
    },
  };
}

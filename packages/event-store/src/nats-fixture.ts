// A real nats-server for this package's integration tests; not exported from the package.
import { startNats, type TestNats } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { connectNats } from './connect.js';
import { ensureStreams } from './streams.js';

export type NatsFixture = { nats: TestNats; nc: NatsConnection; close(): Promise<void> };

/** A fresh nats-server with both streams, and a connection to it. */
export async function natsWithStreams(): Promise<NatsFixture> {
  const nats = await startNats();
  const nc = await connectNats({ url: nats.url, name: 'event-store-test' });
  await ensureStreams(await nc.jetstreamManager());
  return {
    nats,
    nc,
    async close() {
      await nc.close();
      await nats.stop();
    },
  };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, reportConsumerLag } from './metrics.js';

describe('consumer lag on /metrics', () => {
  it('answers every consumer under its labels, and NaN (prom-client writes Nan) within a second for one whose server does not answer', async () => {
    const metrics = createMetrics('notifier');
    reportConsumerLag(metrics, { stream: 'TESSERA_SHORT', durable: 'notifier-tokens', lag: async () => 7 });
    reportConsumerLag(metrics, {
      stream: 'TESSERA_SHORT',
      durable: 'notifier-stuck',
      lag: () => new Promise(() => {}),
    });
    reportConsumerLag(metrics, {
      stream: 'TESSERA_EVENTS',
      durable: 'notifier-failing',
      lag: async () => {
        throw new Error('no responders');
      },
    });
    const started = Date.now();
    const text = await metrics.registry.metrics();
    assert.ok(Date.now() - started < 3_000, 'the scrape is not held up by the consumer that does not answer');
    assert.match(
      text,
      /tessera_consumer_lag_messages\{stream="TESSERA_SHORT",durable="notifier-tokens",service="notifier"\} 7\n/,
    );
    assert.match(
      text,
      /tessera_consumer_lag_messages\{stream="TESSERA_SHORT",durable="notifier-stuck",service="notifier"\} Nan\n/,
    );
    assert.match(text, /durable="notifier-failing",service="notifier"\} Nan\n/);
  });
});

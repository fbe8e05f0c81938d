import assert from 'node:assert/strict';
import { test } from 'node:test';
import { injectTraceContext, inSpan, SpanKind, startTracing } from './index.js';

test('without an endpoint nothing is set up: spans are not recorded and no trace context is sent', async () => {
  const tracing = startTracing('probe', undefined);
  assert.equal(tracing.enabled, false);
  const headers = new Map<string, string>();
  const recorded = await inSpan('send', { kind: SpanKind.PRODUCER }, async (span) => {
    injectTraceContext({ get: (key) => headers.get(key), set: (key, value) => headers.set(key, value) });
    return span.isRecording();
  });
  assert.equal(recorded, false);
  assert.equal(headers.size, 0);
  await tracing.shutdown();
});

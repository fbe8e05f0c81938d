import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pollUntil, startOtlpReceiver } from '@tessera/test-harness';
import { extractTraceContext, injectTraceContext, inSpan, SpanKind, startTracing } from './index.js';

const receiver = await startOtlpReceiver();
after(() => receiver.close());

test('a span made from context sent in headers joins the sender’s trace, exported to the configured OTLP endpoint', async () => {
  const tracing = startTracing('probe', receiver.endpoint);
  assert.equal(tracing.enabled, true);
  const headers = new Map<string, string>();
  await inSpan('send', { kind: SpanKind.PRODUCER }, async () => {
    injectTraceContext({ get: (key) => headers.get(key), set: (key, value) => headers.set(key, value) });
  });
  assert.match(headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  await inSpan('receive', { kind: SpanKind.CONSUMER, parent: extractTraceContext(headers) }, async () => {
    await inSpan('inner', { kind: SpanKind.INTERNAL }, async () => {});
  });
  // A caller's tracestate and baggage are free text (an address, say): they are not carried on.
  const sent = new Map([
    ['traceparent', headers.get('traceparent') ?? ''],
    ['tracestate', 'x=alice@example.org'],
    ['baggage', 'user=alice@example.org'],
  ]);
  const onward = new Map<string, string>();
  await inSpan('relay', { kind: SpanKind.SERVER, parent: extractTraceContext(sent) }, async () => {
    injectTraceContext({ get: (key) => onward.get(key), set: (key, value) => onward.set(key, value) });
  });
  assert.deepEqual([...onward.keys()], ['traceparent']);
  assert.equal(onward.get('traceparent')?.split('-')[1], headers.get('traceparent')?.split('-')[1], 'same trace');
  await tracing.shutdown(); // flushes what is buffered

  const spans = await pollUntil('three spans arrived', () =>
    receiver.spans().length >= 3 ? receiver.spans() : undefined,
  );
  const byName = new Map(spans.map((span) => [span.name, span]));
  const send = byName.get('send');
  const receive = byName.get('receive');
  const inner = byName.get('inner');
  assert.ok(send && receive && inner);
  assert.equal(send.service, 'tessera-probe');
  assert.equal(receive.traceId, send.traceId);
  assert.equal(receive.parentSpanId, send.spanId);
  assert.equal(inner.parentSpanId, receive.spanId);
  assert.equal(receive.kind, 5);
});

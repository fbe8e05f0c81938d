import { traceContextOf } from '@tessera/event-store';
import { failSpan, type Span, SpanKind, startSpan } from '@tessera/tracing';
import type { JsMsg } from 'nats';

/**
 * One consumer span per message of a batch, each a child of the span that appended its message,
 * so that a request's trace reaches the projection that applied its decision. They cover the
 * batch's transaction and end when it commits or fails.
 */
export function startBatchSpans(projection: string, batch: readonly JsMsg[]) {
  const attributes = { 'messaging.system': 'nats', 'messaging.consumer.group.name': projection };
  const spans: Span[] = batch.map((msg) =>
    startSpan(`project ${projection}`, { kind: SpanKind.CONSUMER, parent: traceContextOf(msg.headers), attributes }),
  );
  return {
    end(failure?: unknown): void {
      for (const span of spans) {
        if (failure !== undefined) failSpan(span, failure);
        span.end();
      }
    },
  };
}

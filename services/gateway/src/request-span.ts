import type { IncomingMessage, ServerResponse } from 'node:http';
import { extractTraceContext, type Span, SpanKind, startSpan, withActiveSpan } from '@tessera/tracing';
import { routeLabelOf } from './request-outcome.js';

const SPAN = Symbol('span');
type Traced = ServerResponse & { [SPAN]?: Span };

/**
 * The server span of an HTTP request: a child of the caller's span when it sent `traceparent`,
 * named by the route pattern (never the raw path, which may hold an address) when the answer has
 * left. Both paths (Express, lean-path.ts) start here.
 */
export function startRequestSpan(req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'HTTP';
  const span = startSpan(method, {
    kind: SpanKind.SERVER,
    parent: extractTraceContext({ get: (key) => headerValue(req.headers[key]) }),
    attributes: { 'http.request.method': method },
  });
  (res as Traced)[SPAN] = span;
  res.once('close', () => {
    const route = routeLabelOf(req);
    span.updateName(`${method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
    if (res.statusCode >= 500) span.setStatus({ code: 2 }); // ERROR: the server failed, not the client
    span.end();
  });
}

/** Runs a step of the request with its span active, so the calls it makes are the span's children. */
export function underRequestSpan<T>(res: ServerResponse, step: () => T): T {
  const span = (res as Traced)[SPAN];
  return span === undefined ? step() : withActiveSpan(span, step);
}

const headerValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

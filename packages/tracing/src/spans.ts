import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

export { type Attributes, type Context, type Link, type Span, SpanKind };

const tracer = () => trace.getTracer('tessera');

export type SpanOptions = {
  kind: SpanKind;
  attributes?: Attributes;
  /** The parent: the caller's context taken from a message or request; the active one when absent. */
  parent?: Context;
  links?: Link[];
};

/**
 * Runs `work` in a new span, made the active one while it runs (so the calls it makes are its
 * children); a throw marks the span as failed and is thrown on.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const span = startSpan(name, options);
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => work(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** A span the caller ends itself (it outlives one function call: a batch, an HTTP response). */
export function startSpan(name: string, { kind, attributes, parent, links }: SpanOptions): Span {
  return tracer().startSpan(name, { kind, attributes, links }, parent ?? context.active());
}

/** Runs `work` with `span` as the active span. */
export function withActiveSpan<T>(span: Span, work: () => T): T {
  return context.with(trace.setSpan(context.active(), span), work);
}

/** Marks the span as failed with the error's name and message (never its fields: they may hold user data). */
export function failSpan(span: Span, err: unknown): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'failed';
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

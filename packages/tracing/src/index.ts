export { extractTraceContext, type HeaderAccess, injectTraceContext } from './propagation.js';
export { startTracing, type Tracing } from './setup.js';
export {
  type Attributes,
  type Context,
  failSpan,
  inSpan,
  type Link,
  type Span,
  SpanKind,
  type SpanOptions,
  startSpan,
  withActiveSpan,
} from './spans.js';

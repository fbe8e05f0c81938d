import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export type Tracing = {
  /** Whether spans are recorded and exported (an endpoint was configured). */
  enabled: boolean;
  /** Exports the spans still buffered, then stops exporting. */
  shutdown(): Promise<void>;
};

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * Sets up OpenTelemetry tracing for this process when an OTLP endpoint is given (the base URL of
 * an OTLP/HTTP receiver, as OTEL_EXPORTER_OTLP_ENDPOINT: spans go to `<endpoint>/v1/traces`).
 * Without one nothing is registered: the API's no-op tracer makes every span and every
 * propagation a call that does nothing, so tracing costs nothing when it is off.
 *
 * Registers W3C trace context (and baggage) as the propagator and AsyncLocalStorage as the
 * context manager, so the span of a request is the parent of what runs for it.
 */
export function startTracing(serviceName: string, endpoint: string | undefined): Tracing {
  if (endpoint === undefined) return OFF;
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `tessera-${serviceName}`, 'service.namespace': 'tessera' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  return { enabled: true, shutdown: () => provider.shutdown() };
}

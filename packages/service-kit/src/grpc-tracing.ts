import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  extractTraceContext,
  type HeaderAccess,
  injectTraceContext,
  inSpan,
  type Span,
  SpanKind,
} from '@tessera/tracing';

/** gRPC metadata as a header map for trace context (`traceparent` travels as ASCII metadata). */
function metadataAccess(metadata: Metadata): HeaderAccess {
  return {
    get: (key) => {
      const value = metadata.get(key)[0];
      return typeof value === 'string' ? value : undefined;
    },
    set: (key, value) => metadata.set(key, value),
  };
}

/** `package.Service/Method` of a generated client's method definition: how its calls are named in spans and metrics. */
export function methodPath(definition: unknown, name: string): string {
  const path = (definition as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path.replace(/^\//, '') : name;
}

const rpcAttributes = (method: string) => {
  const [service = '', name = ''] = method.split('/');
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': name };
};

/** A client span around an outgoing call, its context sent along in the call's metadata. */
export function tracedClientCall<T>(method: string, metadata: Metadata, call: () => Promise<T>): Promise<T> {
  return inSpan(method, { kind: SpanKind.CLIENT, attributes: rpcAttributes(method) }, async (span) => {
    injectTraceContext(metadataAccess(metadata));
    try {
      const response = await call();
      span.setAttribute('rpc.grpc.status_code', status.OK);
      return response;
    } catch (err) {
      span.setAttribute('rpc.grpc.status_code', (err as Partial<ServiceError>).code ?? status.UNKNOWN);
      throw err;
    }
  });
}

/** A server span for an incoming call, a child of the caller's span when its metadata carries one. */
export function tracedServerCall<T>(method: string, metadata: Metadata, work: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(
    method,
    { kind: SpanKind.SERVER, attributes: rpcAttributes(method), parent: extractTraceContext(metadataAccess(metadata)) },
    work,
  );
}

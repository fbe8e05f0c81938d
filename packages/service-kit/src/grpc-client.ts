import { isIP } from 'node:net';
import type { CallOptions, ChannelCredentials, Client, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import { targetHost } from './addresses.js';
import { withCurrentCorrelation } from './correlation-metadata.js';
import { countedClientCall } from './grpc-client-metrics.js';
import { methodPath, tracedClientCall } from './grpc-tracing.js';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * A promise-returning view of a generated grpc-js client in which every call has a deadline and
 * carries the current correlation id.
 */
export type DeadlineClient<C> = {
  [K in keyof C as C[K] extends UnaryMethod<infer _Req, infer _Res> ? K : never]: C[K] extends UnaryMethod<
    infer Req,
    infer Res
  >
    ? (request: Req, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<Res>
    : never;
} & { close(): void };

type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Record<string, unknown>,
) => C;

export interface DeadlineClientOptions {
  /**
   * The name the server's certificate must carry when the target is an IP address (TLS names
   * cannot be IPs): the service's name, which every service certificate of ours holds.
   */
  serviceName?: string;
}

const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

export function createDeadlineClient<C extends Client>(
  Ctor: ClientConstructor<C> & { service: Record<string, unknown> },
  target: string,
  credentials: ChannelCredentials,
  defaultDeadlineMs: number,
  { serviceName }: DeadlineClientOptions = {},
): DeadlineClient<C> {
  const client = new Ctor(target, credentials, {
    // Reconnect quickly after the service restarts, so callers see it back within a second or two.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
    'grpc.keepalive_time_ms': 30_000,
    // Per-call bookkeeping nobody reads: channelz (we export our own metrics) and the retry layer
    // (our callers decide themselves what may be repeated; an idempotency key makes appends safe).
    'grpc.enable_channelz': 0,
    'grpc.enable_retries': 0,
    // Calls spread over every address of the target (the replicas of a list, or of a dns:/// name)
    // instead of all going to the first one that answers (grpc-js's default, pick_first).
    'grpc.service_config': ROUND_ROBIN,
    ...(serviceName && isIp(targetHost(target)) ? { 'grpc.ssl_target_name_override': serviceName } : {}),
  });
  const view: Record<string, unknown> = { close: () => client.close() };
  for (const name of Object.keys(Ctor.service)) {
    const method = (client as unknown as Record<string, UnaryMethod<unknown, unknown>>)[name];
    if (typeof method !== 'function') continue;
    const path = methodPath(Ctor.service[name], name);
    view[name] = (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) => {
      const metadata = withCurrentCorrelation(options.metadata ?? new GrpcMetadata());
      return countedClientCall(path, () =>
        tracedClientCall(
          path,
          metadata,
          () =>
            new Promise((resolve, reject) => {
              const deadline = Date.now() + (options.deadlineMs ?? defaultDeadlineMs);
              method.call(client, request, metadata, { deadline }, (err, response) =>
                err ? reject(err) : resolve(response),
              );
            }),
        ),
      );
    };
  }
  return view as DeadlineClient<C>;
}

const isIp = (host: string): boolean => isIP(host) !== 0;

import { setTimeout as sleep } from 'node:timers/promises';
import { type ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tessera/proto/grpc/health/v1/health';

export type ProbeResult = { ok: true } | { ok: false; detail: string };

export interface HealthProbe {
  /** What is being checked, for messages: "gRPC health of 127.0.0.1:4000". */
  readonly description: string;
  check(): Promise<ProbeResult>;
  close(): void;
}

export class HealthTimeout extends Error {
  override readonly name = 'HealthTimeout';
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs `probe` every `intervalMs` until it succeeds. Throws HealthTimeout naming `service` (and
 * the last problem seen) after `timeoutMs`, or the abort reason as soon as `signal` aborts.
 */
export async function waitUntilHealthy(
  service: string,
  probe: HealthProbe,
  o: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'not checked yet';
  for (;;) {
    o.signal?.throwIfAborted();
    const result = await probe.check().catch((err: unknown): ProbeResult => ({ ok: false, detail: String(err) }));
    o.signal?.throwIfAborted();
    if (result.ok) return;
    last = result.detail;
    if (Date.now() >= deadline) {
      throw new HealthTimeout(
        service,
        `${service} did not become healthy within ${formatSeconds(o.timeoutMs)} (${probe.description}; last: ${last})`,
      );
    }
    await sleep(o.intervalMs ?? 200, undefined, o.signal ? { signal: o.signal } : {}).catch(() => {});
  }
}

/**
 * The standard gRPC health Check of the whole server (service ""): SERVING or not. `serverName`:
 * the name the server's certificate must carry (the service's name), instead of the IP address.
 */
export function grpcHealthProbe(
  address: string,
  credentials: ChannelCredentials,
  o: { serverName?: string; timeoutMs?: number } = {},
): HealthProbe {
  const timeoutMs = o.timeoutMs ?? 1_000;
  const client = new HealthClient(address, credentials, {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    ...(o.serverName ? { 'grpc.ssl_target_name_override': o.serverName, 'grpc.default_authority': o.serverName } : {}),
  });
  return {
    description: `gRPC health check of ${address}`,
    check: () =>
      new Promise((resolve) => {
        client.check({ service: '' }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, response) => {
          if (err) resolve({ ok: false, detail: err.details || err.message });
          else if (response.status === HealthCheckResponse_ServingStatus.SERVING) resolve({ ok: true });
          else resolve({ ok: false, detail: `status ${HealthCheckResponse_ServingStatus[response.status]}` });
        });
      }),
    close: () => client.close(),
  };
}

/** GET `url` answering 200. */
export function httpOkProbe(url: string, timeoutMs = 1_000): HealthProbe {
  return {
    description: `GET ${url}`,
    check: async () => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await response.body?.cancel();
        return response.status === 200 ? { ok: true } : { ok: false, detail: `HTTP ${response.status}` };
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        return { ok: false, detail: cause?.code ?? (err as Error).message };
      }
    },
    close: () => {},
  };
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

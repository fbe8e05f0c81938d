import type { NatsConnection } from 'nats';

/** A readiness check (service-kit's ReadinessCheck): whether the connection is up right now. */
export type NatsReadiness = { readonly name: 'nats'; isReady(): boolean };

// Until one of these is followed by a reconnect, nothing reaches the server.
const DOWN = new Set(['disconnect', 'reconnecting', 'staleConnection']);

/**
 * Follows the connection's status: not ready from a disconnect until the next reconnect, and for
 * good once it is closed. Asked by /readyz, it costs nothing (no request of its own).
 */
export function natsReadiness(nc: NatsConnection): NatsReadiness {
  let connected = !nc.isClosed();
  void (async () => {
    for await (const status of nc.status()) {
      if (DOWN.has(status.type)) connected = false;
      else if (status.type === 'reconnect') connected = true;
    }
  })().catch(() => {});
  void nc.closed().then(
    () => {
      connected = false;
    },
    () => {
      connected = false;
    },
  );
  return { name: 'nats', isReady: () => connected && !nc.isClosed() };
}

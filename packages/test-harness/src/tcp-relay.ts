import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpRelay {
  /** `nats://127.0.0.1:<relay port>`: connect here instead of to the target. */
  url: string;
  /** The port the relay listens on. */
  port: number;
  /** Cuts every connection and refuses new ones, as a network partition would. */
  cut(): void;
  /** Lets connections in again (a reconnecting client finds its way back). */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay to a loopback port (a nats-server) that can cut every connection and let them in
 * again. It listens on loopback unless `listenHost` says otherwise (0.0.0.0: containers on a
 * bridge network reach a server of the test through the host's bridge address).
 */
export async function startTcpRelay(targetPort: number, { listenHost = '127.0.0.1' } = {}): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((ok) => server.listen(0, listenHost, ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `nats://127.0.0.1:${address.port}`,
    port: address.port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** Waits until `check` holds (polling every 5 ms); fails naming `what` after timeoutMs. Returns how long it took. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((ok) => setTimeout(ok, 5));
  }
  return Date.now() - started;
}

import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 20_000;
const TRIES = 200;

/**
 * A TCP port that was free on `host` a moment ago. Another process may take it before the caller
 * binds it.
 *
 * Chosen at random below the kernel's ephemeral range, not by binding port 0: a port from that
 * range is also what the kernel gives every outgoing connection, so a port planned for a server
 * that starts a few seconds later could meanwhile be held by some client's connection (to NATS or
 * Postgres, for hours), and the server could never bind it. Random, so that two runners planning
 * at the same time seldom choose the same port.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const ephemeralLow = ephemeralRange()[0];
  if (ephemeralLow - LOWEST >= 1_000) {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const port = randomInt(LOWEST, ephemeralLow);
      if (await bindsNow(host, port)) return port;
    }
  }
  return kernelChosenPort(host);
}

/** The kernel's range for outgoing connections' local ports (Linux's default where unreadable). */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux: fall through
  }
  return [32_768, 60_999];
}

function bindsNow(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function kernelChosenPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`could not read the port bound on ${host}`));
      });
    });
  });
}

import { type Authenticator, connect, type NatsConnection, type Status } from 'nats';
import { type Logger, silentLogger } from './logger.js';

export type ConnectNatsOptions = {
  url: string;
  /** Shown by the server's monitoring (connz): the service and replica. */
  name: string;
  /** Who this process is on NATS (an nkey or a JWT with its seed); none for a server without auth (tests). */
  authenticator?: Authenticator;
  /**
   * Where replies come back (`<prefix>.<random>`). Each identity has its own prefix and may
   * subscribe to nothing else, so no process can listen to another's replies (see inboxPrefixOf).
   */
  inboxPrefix?: string;
  log?: Logger;
};

// A service keeps trying for as long as it runs: a NATS restart or failover must not end it.
const RECONNECT_WAIT_MS = 1_000;
const RECONNECT_JITTER_MS = 500; // spreads the reconnects of many replicas after a server restart

/**
 * Connects with unlimited reconnects and logs every change of the connection's state. The first
 * connect fails fast (the service exits and its supervisor restarts it) rather than hang.
 */
export async function connectNats({
  url,
  name,
  authenticator,
  inboxPrefix,
  log = silentLogger,
}: ConnectNatsOptions): Promise<NatsConnection> {
  const server = redactUrl(url);
  const nc = await connect({
    servers: url.split(','), // a cluster: nats://a:4222,nats://b:4222
    name,
    ...(authenticator !== undefined && { authenticator }),
    ...(inboxPrefix !== undefined && { inboxPrefix }),
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
    // Without this the client builds an Error with a stack trace for every request, in case it
    // fails; at hundreds of requests a second that is measurable, and our errors carry context.
    noAsyncTraces: true,
  });
  log.info({ server, name }, 'connected to NATS');
  void logStatus(nc, log);
  nc.closed().then(
    (err) =>
      err
        ? log.error({ err: describe(err) }, 'NATS connection closed on error')
        : log.info({}, 'NATS connection closed'),
    () => {},
  );
  return nc;
}

async function logStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        log.warn({ server: dataOf(status) }, 'disconnected from NATS; reconnecting');
        break;
      case 'reconnect':
        log.info({ server: dataOf(status) }, 'reconnected to NATS');
        break;
      case 'ldm':
        log.warn({ server: dataOf(status) }, 'NATS server entering lame duck mode');
        break;
      case 'update':
        log.info({ servers: status.data }, 'NATS cluster membership changed');
        break;
      case 'error':
        log.error({ err: dataOf(status), permission: status.permissionContext }, 'NATS asynchronous error');
        break;
      // 'reconnecting' repeats every attempt; pings and staleness are followed by disconnect anyway.
    }
  }
}

// Status data is a host:port or an error text; strip anything that looks like user:pass@.
function dataOf(status: Status): unknown {
  return typeof status.data === 'string' ? redactUrl(status.data) : status.data;
}

/**
 * The reply subjects of one NATS identity: `_INBOX_<identity>`. The permissions let each identity
 * subscribe only below its own prefix, so replies to another process (direct gets of data keys,
 * consumer deliveries) cannot be overheard.
 */
export function inboxPrefixOf(identity: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(identity)) throw new TypeError(`not an identity name: ${JSON.stringify(identity)}`);
  return `_INBOX_${identity}`;
}

/**
 * Hides the secret of each URL in `url` (one, or a comma-separated list): the password of
 * `user:pass@`, or the whole `token@` of a NATS URL. A PostgreSQL URL's bare user name stays.
 */
export function redactUrl(url: string): string {
  return url
    .split(',')
    .map((one) =>
      one.replace(/^((?:([a-z][a-z0-9+.-]*):\/\/)?)([^/@\s:]*)(:[^/\s]*)?@/i, (whole, prefix, scheme, user, pass) => {
        if (pass !== undefined) return `${prefix}${user}:***@`;
        return /^postgres(ql)?$/i.test(scheme ?? '') ? whole : `${prefix}***@`;
      }),
    )
    .join(',');
}

function describe(err: Error): string {
  return redactUrl(err.message);
}

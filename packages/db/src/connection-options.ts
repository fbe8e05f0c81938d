// A connection that cannot be made in this time is reported (DatabaseUnavailable), not waited for.
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * For a connection held open on its own (LISTEN, an advisory lock): TCP keepalive, so that a
 * server that vanished without closing the connection is noticed rather than waited on for ever.
 */
export function longLivedClientOptions(url: string) {
  return { connectionString: url, keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
}

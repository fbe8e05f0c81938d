import { inboxPrefixOf } from '@tessera/event-store';
import { type Authenticator, connect, type NatsConnection } from 'nats';

/**
 * A short-lived connection as admin, for one task (provisioning, a readiness probe): it does not
 * reconnect, so a server that goes away fails the task instead of holding it.
 */
export function connectAsAdmin(
  url: string,
  authenticator: Authenticator | undefined,
  name: string,
): Promise<NatsConnection> {
  return connect({
    servers: url.split(','), // a cluster: nats://a:4222,nats://b:4222
    name,
    inboxPrefix: inboxPrefixOf('admin'),
    maxReconnectAttempts: 0,
    ...(authenticator && { authenticator }),
  });
}

/**
 * A backend this process needs is down or too slow (NATS restarting, a request to it timing out):
 * the same request may well succeed a moment later. It says nothing about the request or about our
 * code, so it travels as gRPC UNAVAILABLE, reaches clients as 503, and is logged without a stack.
 * Packages that talk to a backend throw a subclass of it (the event store's StoreUnavailable).
 */
export class TemporarilyUnavailable extends Error {
  override readonly name: string = 'TemporarilyUnavailable';
}

/**
 * Settles like `promise`, or rejects with `onAbort()` as soon as `signal` aborts. Used for work that
 * takes no signal itself (getaddrinfo, c-ares): it goes on in the background, and its result is dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // a late failure of abandoned work must not become an unhandled rejection
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

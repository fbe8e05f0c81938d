type Waiter<T> = { predicate: (item: T) => boolean; resolve: (item: T) => void };

/** A list of things a fake server received, and a way to wait for one that has not arrived yet. */
export class Recorder<T> {
  /** Everything recorded so far, oldest first; clear() empties this same array. */
  readonly items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();

  constructor(private readonly what: string) {}

  add(item: T): void {
    this.items.push(item);
    for (const waiter of this.#waiters) {
      if (waiter.predicate(item)) {
        this.#waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  }

  /** The first recorded item matching `predicate`, already there or yet to come; rejects after `timeoutMs`. */
  waitFor(predicate: (item: T) => boolean = () => true, timeoutMs = 5_000): Promise<T> {
    const found = this.items.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching ${this.what} within ${timeoutMs} ms (${this.items.length} received)`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  clear(): void {
    this.items.length = 0;
  }
}

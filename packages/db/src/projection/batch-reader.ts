import type { JsMsg } from 'nats';

const LINGERED = Symbol('lingered');

/**
 * Takes a pull subscription's messages in batches: waits as long as it takes for the first, then
 * takes what follows for at most `lingerMs` more, up to `maxSize`. A batch therefore fills at once
 * under load and costs a quiet stream at most `lingerMs` of latency.
 */
export class BatchReader {
  readonly #messages: AsyncIterator<JsMsg>;
  // A read that the linger timer overtook: the next batch starts with it, so no message is lost.
  #pending: Promise<IteratorResult<JsMsg>> | undefined;
  #ended = false;

  constructor(messages: AsyncIterable<JsMsg>) {
    this.#messages = messages[Symbol.asyncIterator]();
  }

  /** The next batch, in delivery order; null once the subscription has ended. */
  async next(maxSize: number, lingerMs: number): Promise<JsMsg[] | null> {
    if (this.#ended) return null;
    this.#pending ??= this.#messages.next();
    const first = await this.#pending;
    this.#pending = undefined;
    if (first.done) {
      this.#ended = true;
      return null;
    }
    const batch = [first.value];
    let timer: NodeJS.Timeout | undefined;
    const lingered = new Promise<typeof LINGERED>((resolve) => {
      timer = setTimeout(() => resolve(LINGERED), lingerMs);
    });
    try {
      while (batch.length < maxSize) {
        this.#pending ??= this.#messages.next();
        const result = await Promise.race([this.#pending, lingered]);
        if (result === LINGERED) break;
        this.#pending = undefined;
        if (result.done) {
          this.#ended = true;
          break;
        }
        batch.push(result.value);
      }
    } finally {
      clearTimeout(timer);
    }
    return batch;
  }
}

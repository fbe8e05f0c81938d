import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export type LogFn = (line: string) => void;

/**
 * Sends every line of the given streams to `log` and keeps the last `keep` lines, so a start-up
 * failure can say what the process printed before it died.
 */
export class OutputLines {
  readonly #tail: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();

  constructor(
    private readonly log: LogFn,
    private readonly keep = 30,
  ) {}

  follow(stream: Readable | null): void {
    if (stream === null) return;
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => this.push(line));
  }

  push(line: string): void {
    this.#tail.push(line);
    if (this.#tail.length > this.keep) this.#tail.shift();
    this.log(line);
    for (const listener of this.#listeners) listener(line);
  }

  onLine(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tail(): string {
    return this.#tail.length === 0 ? '(no output)' : this.#tail.join('\n');
  }
}

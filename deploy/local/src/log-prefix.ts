import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** `signing  | `, `runner   | `, `postgres | `; the two nine-letter names (directory, projector) stick out by one. */
export const NAME_WIDTH = 8;

export type LineSink = (line: string) => void;

/** `signing  | {"level":"info",...}` */
export function prefixLine(name: string, line: string): string {
  return `${name.padEnd(NAME_WIDTH)} | ${line}`;
}

/** A function that writes what it gets to `out`, each line (a message may hold several) prefixed with `name`. */
export function prefixedWriter(out: NodeJS.WritableStream, name: string): LineSink {
  return (text) => {
    out.write(
      `${text
        .split(/\r?\n/)
        .map((line) => `${prefixLine(name, line)}\n`)
        .join('')}`,
    );
  };
}

/** Calls `sink` with each line of `stream` (the last one even without a newline), without its line ending. */
export function followLines(stream: Readable | null | undefined, sink: LineSink): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', sink);
}

import { Writable } from 'node:stream';

export type LogLine = { level: string; msg: string; [field: string]: unknown };

/**
 * A logger whose lines a test reads back as objects: `makeLogger` builds the service's own logger
 * writing JSON lines to the stream it is given (pino writes to it synchronously).
 */
export function captureLogs<L>(makeLogger: (destination: Writable) => L): { log: L; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { log: makeLogger(stream), lines };
}

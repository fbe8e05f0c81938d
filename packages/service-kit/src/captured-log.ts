import { Writable } from 'node:stream';
import { createLogger, type Logger } from './logger.js';

export type LogLine = { level: string; msg: string; [field: string]: unknown };

/** A logger whose lines a test reads back as objects (pino writes to it synchronously). */
export function captureLogs(service = 'test', level = 'debug'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { log: createLogger(service, level, stream), lines };
}
